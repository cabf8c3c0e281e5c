using System.Buffers;
using System.Buffers.Text;
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
        return Mint(key, header, subject, audience, actors, time.GetUtcNow());
    }

    // A token is minted on every relayed call: the claims are written into this thread's scratch buffer and the token
    // is put together in a pooled one, so the finished string is all it allocates itself (OpenSSL's signing aside).
    // Synchronous, so nothing else runs on the thread between taking the scratch buffer and being done with it.
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? _threadClaims;

    [ThreadStatic]
    private static Utf8JsonWriter? _threadWriter;

    private static string Mint(ECDsa key, string header, string subject, string audience, IReadOnlyList<string> actors, DateTimeOffset now)
    {
        var claims = _threadClaims ??= new ArrayBufferWriter<byte>(512);
        claims.ResetWrittenCount();
        var writer = _threadWriter ??= new Utf8JsonWriter(claims);
        writer.Reset(claims);
        Span<byte> jti = stackalloc byte[16];
        RandomNumberGenerator.Fill(jti);
        Span<char> jtiHex = stackalloc char[32];
        Convert.TryToHexStringLower(jti, jtiHex, out _);

        writer.WriteStartObject();
        writer.WriteString("iss", Issuer);
        writer.WriteString("sub", subject);
        writer.WriteString("aud", audience);
        writer.WriteNumber("iat", now.ToUnixTimeSeconds());
        writer.WriteNumber("exp", (now + Lifetime).ToUnixTimeSeconds());
        writer.WriteString("jti", jtiHex);
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
        writer.Flush();

        // header "." base64url(claims) is the signing input; "." base64url(signature) follows it in the same buffer.
        const int SignatureBytes = 64; // P-256, IEEE P1363: r and s, 32 bytes each
        var signingLength = header.Length + 1 + Base64Url.GetEncodedLength(claims.WrittenCount);
        var token = ArrayPool<byte>.Shared.Rent(signingLength + 1 + Base64Url.GetEncodedLength(SignatureBytes));
        try
        {
            var written = Encoding.ASCII.GetBytes(header, token);
            token[written++] = (byte)'.';
            written += Base64Url.EncodeToUtf8(claims.WrittenSpan, token.AsSpan(written));
            Span<byte> signature = stackalloc byte[SignatureBytes];
            var signed = key.SignData(token.AsSpan(0, written), signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
            token[written++] = (byte)'.';
            written += Base64Url.EncodeToUtf8(signature[..signed], token.AsSpan(written));
            return Encoding.ASCII.GetString(token, 0, written);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(token);
        }
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
