using System.Buffers.Text;
using System.Data.Common;
using System.Security.Cryptography;
using System.Text.Json;
using AgentHub.Audit;
using AgentHub.Client.Signatures;
using AgentHub.Storage;
using AgentHub.Vault;
using Dapper;

namespace AgentHub.Signatures;

/// <summary>One verification key of an agent: an EC P-256 public JWK, or an HMAC secret held sealed by the hub.</summary>
internal sealed record AgentKey(string Kid, string AgentId, string Algorithm, string? PublicJwk, DateTimeOffset CreatedAt, string CreatedBy);

/// <summary>
/// A change to an agent's verification keys. <see cref="Keys"/> is the complete set of public keys (null keeps them);
/// <see cref="HmacSecret"/>: true issues a new secret (replacing an earlier one), false removes it, null keeps it;
/// <see cref="RequireSignature"/> null means "true when the agent ends up with a key".
/// </summary>
internal sealed record AgentKeyChange(IReadOnlyList<ValidatedJwk>? Keys, bool? HmacSecret, bool? RequireSignature);

/// <summary>What a key change did; <see cref="HmacSecret"/> is the new secret, present only when one was issued now.</summary>
internal sealed record AgentKeysResult(bool RequireSignature, IReadOnlyList<AgentKey> Keys, string? HmacKeyId, byte[]? HmacSecret);

/// <summary>The key a signature names, with what the relay needs to check it and the owning agent's setting.</summary>
internal sealed record ResolvedAgentKey(string Kid, string AgentId, string Algorithm, string? PublicJwk, byte[]? Secret);

/// <summary>A key change the hub refuses: <see cref="Status"/> is 409 for a key id held by another agent, 400 otherwise.</summary>
internal sealed class AgentKeyException(string field, string message, int status) : Exception(message)
{
    public string Field { get; } = field;

    public int Status { get; } = status;
}

/// <summary>
/// Agents' signature keys (<c>agent_keys</c>) and the <c>require_signature</c> setting. HMAC secrets are sealed under
/// the master key with associated data <c>agent_keys/&lt;kid&gt;</c>. Key ids are unique across the hub, so a
/// <c>keyid</c> in a signature names exactly one agent.
/// </summary>
internal sealed class AgentKeyStore(HubDatabase database, SecretBox box)
{
    public const int HmacSecretBytes = 32;

    /// <summary>The agent's keys and setting; null when the agent does not exist.</summary>
    public async Task<AgentKeysResult?> GetAsync(string agentId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var require = await connection.QuerySingleOrDefaultAsync<long?>(new CommandDefinition(
            "SELECT require_signature FROM agents WHERE id = @agentId", new { agentId }, cancellationToken: ct));
        return require is null ? null : new AgentKeysResult(require == 1, await ListAsync(connection, null, agentId, ct), null, null);
    }

    /// <summary>Whether calls made by the agent must be signed; false for an agent that does not exist.</summary>
    public async Task<bool> RequiresSignatureAsync(string agentId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT require_signature FROM agents WHERE id = @agentId", new { agentId }, cancellationToken: ct)) == 1;
    }

    /// <summary>The key named <paramref name="kid"/>, its HMAC secret opened; null when no agent holds that key id.</summary>
    public async Task<ResolvedAgentKey?> ResolveAsync(string kid, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<KeyRow>(new CommandDefinition(
            "SELECT kid, agent_id, algorithm, public_jwk, secret, created_at, created_by FROM agent_keys WHERE kid = @kid",
            new { kid }, cancellationToken: ct));
        return row is null
            ? null
            : new ResolvedAgentKey(row.Kid, row.AgentId, row.Algorithm, row.PublicJwk, row.Secret is null ? null : box.Open(row.Secret, RecordName(row.Kid)));
    }

    /// <summary>Applies <paramref name="change"/> for an existing agent; null when the agent does not exist.</summary>
    public Task<AgentKeysResult?> SetAsync(string agentId, AgentKeyChange change, string by, DateTimeOffset at, CancellationToken ct) =>
        database.ExclusiveAsync<AgentKeysResult?>(async (connection, transaction) =>
        {
            var exists = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT COUNT(*) FROM agents WHERE id = @agentId", new { agentId }, transaction, cancellationToken: ct));
            return exists == 0 ? null : await ApplyAsync(connection, transaction, database.Provider, box, agentId, change, by, at, ct);
        }, ct, Agents.AgentStore.RegistryLock); // the registry's lock: registration writes keys too, and key ids are unique hub-wide

    /// <summary>Applies a key change inside the caller's transaction (registration uses it); writes the audit record.</summary>
    public static async Task<AgentKeysResult> ApplyAsync(DbConnection connection, DbTransaction transaction, DatabaseProvider provider,
        SecretBox box, string agentId, AgentKeyChange change, string by, DateTimeOffset at, CancellationToken ct)
    {
        var current = await ListAsync(connection, transaction, agentId, ct);
        var publicKeys = change.Keys ?? current.Where(k => k.PublicJwk is not null).Select(k => new ValidatedJwk(k.Kid, k.PublicJwk!)).ToList();
        var wanted = publicKeys.ToDictionary(k => k.Kid, StringComparer.Ordinal);
        foreach (var key in publicKeys)
        {
            var owner = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
                "SELECT agent_id FROM agent_keys WHERE kid = @kid", new { kid = key.Kid }, transaction, cancellationToken: ct));
            if (owner is not null && owner != agentId)
            {
                throw new AgentKeyException("keys", $"Key id '{key.Kid}' is already registered to another agent; give the key another kid.", StatusCodes.Status409Conflict);
            }
        }

        var removed = new List<string>();
        foreach (var key in current)
        {
            var keep = key.Algorithm == SignatureAlgorithms.HmacSha256
                ? change.HmacSecret is null
                : wanted.TryGetValue(key.Kid, out var same) && same.Json == key.PublicJwk;
            if (!keep)
            {
                removed.Add(key.Kid);
                await connection.ExecuteAsync(new CommandDefinition(
                    "DELETE FROM agent_keys WHERE kid = @kid", new { kid = key.Kid }, transaction, cancellationToken: ct));
            }
        }

        var added = new List<string>();
        var ms = UnixTime.Ms(at);
        foreach (var key in publicKeys.Where(k => !current.Any(c => c.Kid == k.Kid && c.PublicJwk == k.Json)))
        {
            added.Add(key.Kid);
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO agent_keys (kid, agent_id, algorithm, public_jwk, secret, created_at, created_by)
                VALUES (@kid, @agentId, @algorithm, @jwk, NULL, @ms, @by)
                """, new { kid = key.Kid, agentId, algorithm = SignatureAlgorithms.EcdsaP256Sha256, jwk = key.Json, ms, by }, transaction, cancellationToken: ct));
        }

        string? hmacKid = null;
        byte[]? secret = null;
        if (change.HmacSecret == true)
        {
            hmacKid = $"{agentId}.hmac.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
            secret = RandomNumberGenerator.GetBytes(HmacSecretBytes);
            added.Add(hmacKid);
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO agent_keys (kid, agent_id, algorithm, public_jwk, secret, created_at, created_by)
                VALUES (@kid, @agentId, @algorithm, NULL, @sealedSecret, @ms, @by)
                """, new { kid = hmacKid, agentId, algorithm = SignatureAlgorithms.HmacSha256, sealedSecret = box.Seal(secret, RecordName(hmacKid)), ms, by },
                transaction, cancellationToken: ct));
        }

        var keys = await ListAsync(connection, transaction, agentId, ct);
        var require = change.RequireSignature ?? keys.Count > 0;
        if (require && keys.Count == 0)
        {
            throw new AgentKeyException("requireSignature", "requireSignature is true but the agent would have no key to sign with: give keys or hmacSecret: true.", StatusCodes.Status400BadRequest);
        }

        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE agents SET require_signature = @require WHERE id = @agentId",
            new { require = require ? 1 : 0, agentId }, transaction, cancellationToken: ct));
        await AuditLog.WriteAsync(connection, transaction, provider,
            [new AuditEvent(AuditTypes.AgentKeys, by, agentId, AuditOutcome.Success, new Dictionary<string, string>
            {
                ["added"] = string.Join(',', added),
                ["removed"] = string.Join(',', removed),
                ["keys"] = string.Join(',', keys.Select(k => k.Kid)),
                ["require_signature"] = require ? "true" : "false",
            })], at, ct);
        return new AgentKeysResult(require, keys, hmacKid, secret);
    }

    private static async Task<IReadOnlyList<AgentKey>> ListAsync(DbConnection connection, DbTransaction? transaction, string agentId, CancellationToken ct)
    {
        var rows = await connection.QueryAsync<KeyRow>(new CommandDefinition(
            "SELECT kid, agent_id, algorithm, public_jwk, NULL AS secret, created_at, created_by FROM agent_keys WHERE agent_id = @agentId ORDER BY kid",
            new { agentId }, transaction, cancellationToken: ct));
        return rows.Select(r => new AgentKey(r.Kid, r.AgentId, r.Algorithm, r.PublicJwk, UnixTime.From(r.CreatedAt), r.CreatedBy)).ToList();
    }

    private static string RecordName(string kid) => "agent_keys/" + kid;

    private sealed class KeyRow
    {
        public string Kid { get; init; } = "";
        public string AgentId { get; init; } = "";
        public string Algorithm { get; init; } = "";
        public string? PublicJwk { get; init; }
        public byte[]? Secret { get; init; }
        public long CreatedAt { get; init; }
        public string CreatedBy { get; init; } = "";
    }
}

/// <summary>An EC P-256 public JWK that passed validation, in the normalized form the hub stores.</summary>
internal sealed record ValidatedJwk(string Kid, string Json)
{
    /// <summary>Checks one JWK; returns the error to show, or null and the normalized key.</summary>
    public static string? TryParse(JsonElement jwk, out ValidatedJwk? key)
    {
        key = null;
        if (jwk.ValueKind != JsonValueKind.Object)
        {
            return "must be a JWK object.";
        }

        string? Member(string name) => jwk.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        if (jwk.TryGetProperty("d", out _))
        {
            return "holds a private key ('d'); register the public key only.";
        }

        if (Member("kty") != "EC" || Member("crv") != "P-256")
        {
            return "must be an EC key on P-256 (kty 'EC', crv 'P-256'); other key types are not accepted.";
        }

        if (Member("alg") is { } alg && alg != "ES256")
        {
            return $"has alg '{alg}'; a P-256 key signs with ES256 (ecdsa-p256-sha256).";
        }

        byte[] x, y;
        try
        {
            x = Base64Url.DecodeFromChars(Member("x") ?? "");
            y = Base64Url.DecodeFromChars(Member("y") ?? "");
        }
        catch (FormatException)
        {
            return "has an x or y that is not base64url.";
        }

        if (x.Length != 32 || y.Length != 32)
        {
            return "must have x and y of 32 bytes each (base64url).";
        }

        try
        {
            using var ecdsa = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = x, Y = y } });
        }
        catch (CryptographicException)
        {
            return "is not a point on P-256.";
        }

        var xs = Base64Url.EncodeToString(x);
        var ys = Base64Url.EncodeToString(y);
        var kid = Member("kid") ?? Thumbprint(xs, ys);
        if (kid.Length is 0 or > 128 || kid.Any(c => c is < (char)0x21 or > (char)0x7e or '"' or '\\'))
        {
            return "has a kid that is not 1-128 printable ASCII characters without quotes or backslashes.";
        }

        key = new ValidatedJwk(kid, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" + xs + "\",\"y\":\"" + ys + "\",\"kid\":\"" + kid + "\"}");
        return null;
    }

    // RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
    private static string Thumbprint(string x, string y) => Base64Url.EncodeToString(SHA256.HashData(
        System.Text.Encoding.UTF8.GetBytes("{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"" + x + "\",\"y\":\"" + y + "\"}")));
}
