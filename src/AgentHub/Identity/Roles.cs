namespace AgentHub.Identity;

/// <summary>The hub's roles. A key carries exactly one; policies name which roles may use an endpoint.</summary>
internal static class Roles
{
    public const string Admin = "admin";
    public const string Operator = "operator";
    public const string Auditor = "auditor";
    public const string Agent = "agent";

    public static readonly IReadOnlyList<string> All = [Admin, Operator, Auditor, Agent];

    public static bool IsKnown(string role) => All.Contains(role, StringComparer.Ordinal);
}

/// <summary>Authorization policy names, one per audience of the admin API.</summary>
internal static class Policies
{
    /// <summary>Only admins.</summary>
    public const string Admin = "admin";

    /// <summary>Admins and operators.</summary>
    public const string Operator = "operator";

    /// <summary>Admins and auditors.</summary>
    public const string Auditor = "auditor";

    /// <summary>Any valid credential; the handler scopes what it returns to the caller.</summary>
    public const string Authenticated = "authenticated";
}

/// <summary>Claim types the hub puts on an authenticated caller.</summary>
internal static class HubClaims
{
    public const string Principal = "sub";
    public const string Role = "role";
    public const string KeyId = "key_id";
}
