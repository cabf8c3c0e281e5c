using System.Security.Cryptography;
using AgentHub.Audit;
using AgentHub.Client.Signatures;
using AgentHub.Identity;

namespace AgentHub.Relay;

/// <summary>
/// The chain of a call: the original caller, then each agent acting for it, oldest first. A direct call has no actors.
/// </summary>
internal sealed record CallChain(string Subject, IReadOnlyList<string> Actors)
{
    public static CallChain Direct(string caller) => new(caller, []);

    /// <summary>Agents acting for the subject.</summary>
    public int Depth => Actors.Count;

    /// <summary>"user:u > agent:a > agent:b", the target last, for the audit record.</summary>
    public string Describe(string targetPrincipal) => string.Join(" > ", [Subject, .. Actors, targetPrincipal]);

    /// <summary>True when <paramref name="principal"/> already appears in the chain (a call to it would be a cycle).</summary>
    public bool Contains(string principal) => Subject == principal || Actors.Contains(principal);
}

/// <summary>
/// <c>AgentHub-Delegation</c>: an agent handling a call passes on the hub token it received, so the call it makes now
/// is recorded as made for the original caller. The token must be one this hub minted (ES256, a key from its JWKS,
/// retired keys included), still valid, and addressed to the agent that presents it.
/// </summary>
internal sealed class Delegation(SigningKeyStore keys, TimeProvider time)
{
    public const string Header = "AgentHub-Delegation";

    /// <summary>Leeway on <c>exp</c> for clocks of other hub instances.</summary>
    public static readonly TimeSpan Skew = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan RefreshAtMostEvery = TimeSpan.FromSeconds(5);
    private volatile Dictionary<string, ECDsa> _keys = [];
    private DateTimeOffset _loadedAt = DateTimeOffset.MinValue;

    /// <summary>The chain the token proves for a call by <paramref name="caller"/>, or the reason it proves nothing.</summary>
    public async Task<(CallChain? Chain, string? Error)> VerifyAsync(string token, string caller, CancellationToken ct)
    {
        if (!caller.StartsWith(Agents.AgentStore.PrincipalOf(""), StringComparison.Ordinal))
        {
            return (null, $"Only an agent passes on AgentHub-Delegation; the caller {caller} is not an agent.");
        }

        var agentId = caller[Agents.AgentStore.PrincipalOf("").Length..];
        var result = HubTokenValidator.Validate(token, kid => _keys.GetValueOrDefault(kid), agentId, time, Skew);
        if (result.Failure == HubTokenFailure.UnknownKey && await RefreshAsync(ct))
        {
            result = HubTokenValidator.Validate(token, kid => _keys.GetValueOrDefault(kid), agentId, time, Skew);
        }

        return result.Failure switch
        {
            HubTokenFailure.None => (new CallChain(result.Subject!, [.. result.Actors.Reverse(), caller]), null),
            HubTokenFailure.WrongAudience => (null, $"AgentHub-Delegation was not issued to the caller {caller}: pass on the token of the call being handled. {result.Message}"),
            HubTokenFailure.Expired => (null, $"AgentHub-Delegation has expired; pass on the token of the call being handled while it is valid. {result.Message}"),
            HubTokenFailure.UnknownKey or HubTokenFailure.BadSignature or HubTokenFailure.WrongAlgorithm or HubTokenFailure.WrongIssuer =>
                (null, $"AgentHub-Delegation is not a token this hub signed. {result.Message}"),
            _ => (null, $"AgentHub-Delegation is not a valid hub token. {result.Message}"),
        };
    }

    /// <summary>Reloads the public keys (rotation adds keys) at most once per <see cref="RefreshAtMostEvery"/>.</summary>
    private async Task<bool> RefreshAsync(CancellationToken ct)
    {
        if (time.GetUtcNow() - _loadedAt < RefreshAtMostEvery)
        {
            return false;
        }

        var loaded = new Dictionary<string, ECDsa>(StringComparer.Ordinal);
        foreach (var info in await keys.ListAsync(ct))
        {
            loaded[info.Kid] = _keys.GetValueOrDefault(info.Kid) ?? ECDsa.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = CheckpointJws.FromBase64Url(info.PublicKey.X), Y = CheckpointJws.FromBase64Url(info.PublicKey.Y) },
            });
        }

        _keys = loaded; // rotation retires keys, never deletes them, so key objects in use stay valid
        _loadedAt = time.GetUtcNow();
        return true;
    }
}
