using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using AgentHub.Audit;
using AgentHub.Storage;
using AgentHub.Vault;
using Dapper;

namespace AgentHub.Identity;

/// <summary>A public JWK of one of the hub's ES256 keys (RFC 7517), as published in the JWKS.</summary>
internal sealed record Jwk(
    [property: JsonPropertyName("kty")] string Kty,
    [property: JsonPropertyName("crv")] string Crv,
    [property: JsonPropertyName("x")] string X,
    [property: JsonPropertyName("y")] string Y,
    [property: JsonPropertyName("kid")] string Kid,
    [property: JsonPropertyName("use")] string Use,
    [property: JsonPropertyName("alg")] string Alg);

internal sealed record JwkSet([property: JsonPropertyName("keys")] IReadOnlyList<Jwk> Keys);

internal sealed record SigningKeyInfo(string Kid, string Algorithm, DateTimeOffset CreatedAt, DateTimeOffset? RetiredAt, Jwk PublicKey)
{
    public bool Active => RetiredAt is null;
}

/// <summary>
/// The hub's ES256 signing keys. The private key is stored sealed under the master key with associated data
/// <c>signing_keys/&lt;kid&gt;</c>; the kid is the RFC 7638 thumbprint of the public key. Rotation retires the active
/// key (it stays published for verification) and adds a new one.
/// </summary>
internal sealed class SigningKeyStore(HubDatabase database, SecretBox box, TimeProvider time)
{
    public const string Algorithm = "ES256";

    public async Task<IReadOnlyList<SigningKeyInfo>> ListAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(
            "SELECT kid, algorithm, public_jwk, created_at, retired_at FROM signing_keys ORDER BY created_at DESC, kid",
            cancellationToken: ct));
        return rows.Select(r => r.ToInfo()).ToList();
    }

    /// <summary>Retires the active key and adds a new active one, atomically across instances.</summary>
    public Task<SigningKeyInfo> RotateAsync(CancellationToken ct, string actor = "system") =>
        database.ExclusiveAsync(async (connection, transaction) =>
        {
            var now = time.GetUtcNow();
            var retired = (await connection.QueryAsync<string>(new CommandDefinition(
                "SELECT kid FROM signing_keys WHERE retired_at IS NULL", transaction: transaction, cancellationToken: ct))).ToList();
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE signing_keys SET retired_at = @now WHERE retired_at IS NULL",
                new { now = UnixTime.Ms(now) }, transaction, cancellationToken: ct));
            var key = await AddAsync(connection, transaction, now, ct);
            await AuditLog.WriteAsync(connection, transaction, database.Provider,
                [new AuditEvent(AuditTypes.SigningKeyRotate, actor, key.Kid, AuditOutcome.Success,
                    new Dictionary<string, string> { ["retired"] = string.Join(',', retired), ["algorithm"] = Algorithm })], now, ct);
            return key;
        }, ct);

    /// <summary>Adds a new active key within the caller's transaction (first start, rotation).</summary>
    public async Task<SigningKeyInfo> AddAsync(DbConnection connection, DbTransaction transaction, DateTimeOffset now, CancellationToken ct)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var parameters = key.ExportParameters(includePrivateParameters: false);
        var x = Base64Url(parameters.Q.X!);
        var y = Base64Url(parameters.Q.Y!);
        var kid = Thumbprint(x, y);
        var jwk = new Jwk("EC", "P-256", x, y, kid, "sig", Algorithm);
        var sealedKey = box.Seal(key.ExportPkcs8PrivateKey(), RecordName(kid));
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO signing_keys (kid, algorithm, public_jwk, private_key, created_at, retired_at)
            VALUES (@kid, @Algorithm, @jwk, @sealedKey, @now, NULL)
            """, new { kid, Algorithm, jwk = System.Text.Json.JsonSerializer.Serialize(jwk, HubJsonContext.Default.Jwk), sealedKey, now = UnixTime.Ms(now) },
            transaction, cancellationToken: ct));
        return new SigningKeyInfo(kid, Algorithm, now, null, jwk);
    }

    /// <summary>The active private key, decrypted; the caller disposes it.</summary>
    public async Task<(string Kid, ECDsa Key)> GetActiveAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QueryFirstOrDefaultAsync<(string Kid, byte[] PrivateKey)>(new CommandDefinition(
            "SELECT kid, private_key FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1",
            cancellationToken: ct));
        if (row.Kid is null)
        {
            throw new InvalidOperationException("The hub has no active signing key.");
        }

        var pkcs8 = box.Open(row.PrivateKey, RecordName(row.Kid));
        var key = ECDsa.Create();
        key.ImportPkcs8PrivateKey(pkcs8, out _);
        CryptographicOperations.ZeroMemory(pkcs8);
        return (row.Kid, key);
    }

    public static async Task<bool> AnyAsync(DbConnection connection, DbTransaction transaction, CancellationToken ct) =>
        await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM signing_keys", transaction: transaction, cancellationToken: ct)) > 0;

    private static string RecordName(string kid) => "signing_keys/" + kid;

    // RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
    private static string Thumbprint(string x, string y) =>
        Base64Url(SHA256.HashData(Encoding.UTF8.GetBytes($$"""{"crv":"P-256","kty":"EC","x":"{{x}}","y":"{{y}}"}""")));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private sealed class Row
    {
        public string Kid { get; init; } = "";
        public string Algorithm { get; init; } = "";
        public string PublicJwk { get; init; } = "";
        public long CreatedAt { get; init; }
        public long? RetiredAt { get; init; }

        public SigningKeyInfo ToInfo() => new(Kid, Algorithm, UnixTime.From(CreatedAt), UnixTime.From(RetiredAt),
            System.Text.Json.JsonSerializer.Deserialize(PublicJwk, HubJsonContext.Default.Jwk)!);
    }
}
