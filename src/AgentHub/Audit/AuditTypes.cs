namespace AgentHub.Audit;

/// <summary>Record types; a fixed vocabulary so queries and alerts can rely on it.</summary>
internal static class AuditTypes
{
    public const string AuthSuccess = "auth.success";
    public const string AuthFailure = "auth.failure";
    public const string RelayCall = "relay.call";
    public const string RelayResult = "relay.result";
    public const string RelayDenied = "relay.denied";
    public const string KeyCreate = "key.create";
    public const string KeyRevoke = "key.revoke";
    public const string SigningKeyCreate = "signing_key.create";
    public const string SigningKeyRotate = "signing_key.rotate";
    public const string AgentRegister = "agent.register";
    public const string AgentUpdate = "agent.update";
    public const string AgentDelete = "agent.delete";
    public const string AgentKeys = "agent.keys";
    public const string SignatureFailure = "signature.failure";
    public const string PolicyCreate = "policy.create";
    public const string PolicyDelete = "policy.delete";
}
