using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AgentHub.Audit;
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
        var parts = token.Split('.');
        if (parts.Length != 3)
        {
            return (null, "AgentHub-Delegation is not a compact JWS (three dot-separated parts).");
        }

        JsonElement header, claims;
        byte[] signature;
        try
        {
            header = JsonDocument.Parse(CheckpointJws.FromBase64Url(parts[0])).RootElement;
            claims = JsonDocument.Parse(CheckpointJws.FromBase64Url(parts[1])).RootElement;
            signature = CheckpointJws.FromBase64Url(parts[2]);
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            return (null, "AgentHub-Delegation is not a valid JWT (bad base64url or JSON).");
        }

        if (header.ValueKind != JsonValueKind.Object || Str(header, "alg") != "ES256" || Str(header, "kid") is not { } kid)
        {
            return (null, "AgentHub-Delegation must be an ES256 token with a kid, as the hub mints them.");
        }

        var key = await KeyAsync(kid, ct);
        if (key is null || !key.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), signature,
                HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation))
        {
            return (null, "AgentHub-Delegation is not signed by this hub.");
        }

        if (claims.ValueKind != JsonValueKind.Object || Str(claims, "iss") != HubTokens.Issuer || Str(claims, "sub") is not { } subject ||
            Str(claims, "aud") is not { } audience || !claims.TryGetProperty("exp", out var exp) || !exp.TryGetInt64(out var expSeconds))
        {
            return (null, "AgentHub-Delegation lacks the hub's iss, sub, aud or exp claims.");
        }

        if (DateTimeOffset.FromUnixTimeSeconds(expSeconds) + Skew < time.GetUtcNow())
        {
            return (null, "AgentHub-Delegation has expired; pass on the token of the call being handled while it is valid.");
        }

        if (caller != Agents.AgentStore.PrincipalOf(audience))
        {
            return (null, $"AgentHub-Delegation was issued to agent '{audience}', not to the caller {caller}.");
        }

        // Nested act claims: the outermost is the most recent actor.
        var actors = new List<string>();
        var current = claims;
        while (current.TryGetProperty("act", out var act) && act.ValueKind == JsonValueKind.Object && Str(act, "sub") is { } actor)
        {
            actors.Add(actor);
            current = act;
        }

        actors.Reverse();
        actors.Add(caller);
        return (new CallChain(subject, actors), null);

        static string? Str(JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
    }

    private async ValueTask<ECDsa?> KeyAsync(string kid, CancellationToken ct)
    {
        if (_keys.TryGetValue(kid, out var key))
        {
            return key;
        }

        if (time.GetUtcNow() - _loadedAt < RefreshAtMostEvery)
        {
            return null;
        }

        var loaded = new Dictionary<string, ECDsa>(StringComparer.Ordinal);
        foreach (var info in await keys.ListAsync(ct))
        {
            loaded[info.Kid] = ECDsa.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = CheckpointJws.FromBase64Url(info.PublicKey.X), Y = CheckpointJws.FromBase64Url(info.PublicKey.Y) },
            });
        }

        _keys = loaded; // keys are only added (rotation retires, never deletes), so older objects stay valid for readers
        _loadedAt = time.GetUtcNow();
        return loaded.GetValueOrDefault(kid);
    }
}
