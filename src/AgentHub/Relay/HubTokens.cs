using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AgentHub.Audit;
using AgentHub.Identity;

namespace AgentHub.Relay;

/// <summary>
/// Short-lived ES256 JWTs the hub puts on every forwarded call (<c>iss</c> the hub, <c>sub</c> the verified caller,
/// <c>aud</c> the agent, <c>exp</c> 60 s, <c>jti</c>), so an agent can check with the hub's JWKS that a call came through
/// the hub and from whom. The active private key is decrypted once and kept for a short while, so rotation through
/// another instance is picked up within that time.
/// </summary>
internal sealed class HubTokens(SigningKeyStore keys, TimeProvider time) : IDisposable
{
    public const string Issuer = "agenthub";
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan KeyCacheTime = TimeSpan.FromSeconds(30);
    private readonly SemaphoreSlim _lock = new(1, 1);
    private (string Kid, ECDsa Key, string Header, DateTimeOffset Until)? _current;

    /// <param name="subject">The original caller.</param>
    /// <param name="audience">The agent the token is for.</param>
    /// <param name="actors">Agents acting for <paramref name="subject"/>, the first one nearest the subject; empty when not delegated.</param>
    /// <param name="ct">Cancels loading the key.</param>
    public async ValueTask<string> MintAsync(string subject, string audience, IReadOnlyList<string> actors, CancellationToken ct)
    {
        var (_, key, header) = await KeyAsync(ct);
        var now = time.GetUtcNow();
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("iss", Issuer);
            writer.WriteString("sub", subject);
            writer.WriteString("aud", audience);
            writer.WriteNumber("iat", now.ToUnixTimeSeconds());
            writer.WriteNumber("exp", (now + Lifetime).ToUnixTimeSeconds());
            writer.WriteString("jti", Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
            for (var i = actors.Count - 1; i >= 0; i--)
            {
                writer.WriteStartObject("act");
                writer.WriteString("sub", actors[i]);
            }

            for (var i = 0; i < actors.Count; i++)
            {
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        var signingInput = header + "." + CheckpointJws.Base64Url(buffer.ToArray());
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + CheckpointJws.Base64Url(signature);
    }

    /// <summary>The hub's active ES256 key (cached); also signs forwarded requests (RFC 9421). Do not dispose it.</summary>
    public async ValueTask<(string Kid, ECDsa Key)> SigningKeyAsync(CancellationToken ct)
    {
        var (kid, key, _) = await KeyAsync(ct);
        return (kid, key);
    }

    private async ValueTask<(string Kid, ECDsa Key, string Header)> KeyAsync(CancellationToken ct)
    {
        if (_current is { } c && c.Until > time.GetUtcNow())
        {
            return (c.Kid, c.Key, c.Header);
        }

        await _lock.WaitAsync(ct);
        try
        {
            if (_current is { } fresh && fresh.Until > time.GetUtcNow())
            {
                return (fresh.Kid, fresh.Key, fresh.Header);
            }

            var (kid, key) = await keys.GetActiveAsync(ct);
            var header = CheckpointJws.Base64Url(JsonSerializer.SerializeToUtf8Bytes(
                new Dictionary<string, string> { ["alg"] = "ES256", ["typ"] = "JWT", ["kid"] = kid }));
            // The previous key object may still be in use by a concurrent MintAsync: let it go to the GC, not Dispose.
            _current = (kid, key, header, time.GetUtcNow() + KeyCacheTime);
            return (kid, key, header);
        }
        finally
        {
            _lock.Release();
        }
    }

    public void Dispose()
    {
        _lock.Dispose();
        _current?.Key.Dispose();
    }
}
