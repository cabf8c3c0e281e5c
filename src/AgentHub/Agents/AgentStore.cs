using System.Data.Common;
using System.Text.Json;
using AgentHub.Audit;
using AgentHub.Identity;
using AgentHub.Storage;
using Dapper;

namespace AgentHub.Agents;

internal static class AgentHealth
{
    public const string Up = "up";
    public const string Down = "down";
    public const string Unknown = "unknown";
}

internal sealed record AgentRecord(
    string Id,
    long Version,
    string Name,
    string Description,
    string CardVersion,
    IReadOnlyList<AgentSkillSummary> Skills,
    string? CardUrl,
    string UpstreamUrl,
    string Health,
    DateTimeOffset? LastCheckedAt,
    DateTimeOffset CreatedAt,
    string CreatedBy,
    DateTimeOffset UpdatedAt,
    string UpdatedBy,
    string CardSignature = CardSignature.UnsignedStatus,
    string? CardSignatureDetail = null);

internal sealed record AgentVersionRecord(long Version, DateTimeOffset CreatedAt, string CreatedBy, byte[] CardSha256, string CardVersion,
    string CardSignature = CardSignature.UnsignedStatus, string? CardSignatureDetail = null);

/// <summary>
/// A registration as the endpoint prepared it: the card exactly as received, what was read from it, and the verdict on
/// its signatures (unsigned when not given).
/// </summary>
internal sealed record NewAgent(string Id, byte[] Card, CardInfo Info, string? CardUrl, string UpstreamUrl, DateTimeOffset At, string By,
    CardSignature? Signature = null)
{
    public CardSignature CardSignature => Signature ?? CardSignature.Unsigned;
}

/// <summary>What a registration did; <c>KeyIssued</c> is true when the candidate key was stored (the agent had no active key).</summary>
internal sealed record RegisterResult(AgentRecord Agent, bool Created, bool VersionCreated, bool KeyIssued);

internal sealed record AgentFilter(string? Skill, string? Tag, string? Query);

/// <summary>The registry. Every change commits with its audit record; an agent's keys live in <c>api_keys</c> under <c>agent:&lt;id&gt;</c>.</summary>
internal interface IAgentStore
{
    DatabaseProvider Provider { get; }

    /// <summary>
    /// Creates the agent or, when it exists, records a new card version if the card changed. Stores
    /// <paramref name="candidateKey"/> only when <c>agent:&lt;id&gt;</c> holds no active key.
    /// The optional <c>alsoInTransaction</c> is work that commits with the registration or not at all (signature keys).
    /// </summary>
    Task<RegisterResult> RegisterAsync(NewAgent agent, NewApiKey candidateKey, CancellationToken ct,
        Func<DbConnection, DbTransaction, Task>? alsoInTransaction = null);

    Task<AgentRecord?> GetAsync(string id, CancellationToken ct);

    /// <summary>Where calls to the agent go (its upstream URL), or null when no such agent is registered: the relay's lookup.</summary>
    Task<string?> UpstreamAsync(string id, CancellationToken ct);

    Task<Page<AgentRecord>> ListAsync(AgentFilter filter, string? after, int limit, CancellationToken ct);

    /// <summary>The current card, byte for byte as registered.</summary>
    Task<byte[]?> GetCardAsync(string id, CancellationToken ct);

    /// <summary>The card of one version, byte for byte as registered.</summary>
    Task<byte[]?> GetCardAsync(string id, long version, CancellationToken ct);

    /// <summary>The current version and the SHA-256 of its card, without reading the card.</summary>
    Task<(long Version, byte[] CardSha256)?> GetCardStampAsync(string id, CancellationToken ct);

    /// <summary>Every version, oldest first; null when the agent does not exist.</summary>
    Task<IReadOnlyList<AgentVersionRecord>?> ListVersionsAsync(string id, CancellationToken ct);

    /// <summary>Deletes the agent and revokes its keys in one transaction; false when it does not exist.</summary>
    Task<bool> DeleteAsync(string id, string by, DateTimeOffset at, CancellationToken ct);

    Task<IReadOnlyList<(string Id, string UpstreamUrl)>> ListUpstreamsAsync(CancellationToken ct);

    Task SetHealthAsync(string id, string health, DateTimeOffset at, CancellationToken ct);
}

/// <param name="database">The hub's database.</param>
/// <param name="writes">Group commit for the health probe's many small writes; without it each commits alone.</param>
internal sealed class AgentStore(HubDatabase database, GroupCommit? writes = null) : IAgentStore
{
    /// <summary>Advisory lock key for registry changes, so two instances cannot register one id at once.</summary>
    public const long RegistryLock = 0x4167_656E_7452_6567; // "AgentReg"

    private static readonly string[] ChildTables = ["agent_skills", "agent_tags", "agent_versions", "agent_keys"];

    private const string Columns = """
        a.id, a.version, a.name, a.description, a.card_version, a.skills, a.card_url, a.upstream_url, a.health, a.last_checked_at,
        a.created_at, a.created_by, a.updated_at, a.updated_by, v.card_signature, v.card_signature_detail
        """;

    public DatabaseProvider Provider => database.Provider;

    // The current version's row, for its signature verdict.
    private const string CurrentVersion = "LEFT JOIN agent_versions v ON v.agent_id = a.id AND v.version = a.version";

    public static string PrincipalOf(string agentId) => $"{PrincipalId.AgentKind}:{agentId}";

    public Task<RegisterResult> RegisterAsync(NewAgent agent, NewApiKey candidateKey, CancellationToken ct,
        Func<DbConnection, DbTransaction, Task>? alsoInTransaction = null) =>
        database.ExclusiveAsync(async (connection, transaction) =>
        {
            var sha = System.Security.Cryptography.SHA256.HashData(agent.Card);
            var existing = await GetAsync(connection, transaction, agent.Id, ct);
            var info = agent.Info;
            var row = new
            {
                agent.Id,
                info.Name,
                info.Description,
                CardVersion = info.Version,
                Skills = JsonSerializer.Serialize(info.Skills.ToList(), HubJsonContext.Default.ListAgentSkillSummary),
                info.SearchText,
                agent.CardUrl,
                agent.UpstreamUrl,
                At = UnixTime.Ms(agent.At),
                agent.By,
            };
            var events = new List<AuditEvent>();
            var created = existing is null;
            var versionCreated = false;
            long version;
            if (existing is null)
            {
                version = 1;
                await connection.ExecuteAsync(new CommandDefinition("""
                    INSERT INTO agents (id, version, name, description, card_version, skills, search_text, card_url, upstream_url,
                                        health, last_checked_at, created_at, created_by, updated_at, updated_by)
                    VALUES (@Id, 1, @Name, @Description, @CardVersion, @Skills, @SearchText, @CardUrl, @UpstreamUrl,
                            'unknown', NULL, @At, @By, @At, @By)
                    """, row, transaction, cancellationToken: ct));
                versionCreated = true;
                events.Add(new AuditEvent(AuditTypes.AgentRegister, agent.By, agent.Id, AuditOutcome.Success, Details(1, sha, agent)));
            }
            else
            {
                // A new version when the card changed, or when the same card now comes with other keys or another verdict.
                var current = await connection.QuerySingleOrDefaultAsync<(byte[] Sha, string? Keys, string Signature)>(new CommandDefinition(
                    "SELECT card_sha256, card_keys, card_signature FROM agent_versions WHERE agent_id = @id AND version = @version",
                    new { id = agent.Id, version = existing.Version }, transaction, cancellationToken: ct));
                versionCreated = current.Sha is null || !sha.AsSpan().SequenceEqual(current.Sha) ||
                    current.Keys != agent.CardSignature.Keys || current.Signature != agent.CardSignature.Status;
                version = versionCreated ? existing.Version + 1 : existing.Version;
                var changed = versionCreated || existing.UpstreamUrl != agent.UpstreamUrl || existing.CardUrl != agent.CardUrl;
                if (changed)
                {
                    await connection.ExecuteAsync(new CommandDefinition("""
                        UPDATE agents SET version = @Version, name = @Name, description = @Description, card_version = @CardVersion,
                            skills = @Skills, search_text = @SearchText, card_url = @CardUrl, upstream_url = @UpstreamUrl,
                            updated_at = @At, updated_by = @By
                        WHERE id = @Id
                        """, new
                    {
                        row.Id,
                        Version = version,
                        row.Name,
                        row.Description,
                        row.CardVersion,
                        row.Skills,
                        row.SearchText,
                        row.CardUrl,
                        row.UpstreamUrl,
                        row.At,
                        row.By,
                    }, transaction, cancellationToken: ct));
                    events.Add(new AuditEvent(AuditTypes.AgentUpdate, agent.By, agent.Id, AuditOutcome.Success, Details(version, sha, agent)));
                }
            }

            if (versionCreated)
            {
                await connection.ExecuteAsync(new CommandDefinition("""
                    INSERT INTO agent_versions (agent_id, version, card, card_sha256, card_version, created_at, created_by,
                                                card_signature, card_signature_detail, card_keys)
                    VALUES (@id, @version, @card, @sha, @cardVersion, @at, @by, @signature, @signatureDetail, @keys)
                    """, new
                {
                    id = agent.Id,
                    version,
                    card = agent.Card,
                    sha,
                    cardVersion = info.Version,
                    at = UnixTime.Ms(agent.At),
                    by = agent.By,
                    signature = agent.CardSignature.Status,
                    signatureDetail = agent.CardSignature.Detail,
                    keys = agent.CardSignature.Keys,
                },
                    transaction, cancellationToken: ct));
                await connection.ExecuteAsync(new CommandDefinition("DELETE FROM agent_skills WHERE agent_id = @id", new { id = agent.Id }, transaction, cancellationToken: ct));
                await connection.ExecuteAsync(new CommandDefinition("DELETE FROM agent_tags WHERE agent_id = @id", new { id = agent.Id }, transaction, cancellationToken: ct));
                await connection.ExecuteAsync(new CommandDefinition("INSERT INTO agent_skills (agent_id, skill_id) VALUES (@id, @skill)",
                    info.Skills.Select(s => new { id = agent.Id, skill = s.Id }), transaction, cancellationToken: ct));
                await connection.ExecuteAsync(new CommandDefinition("INSERT INTO agent_tags (agent_id, tag) VALUES (@id, @tag)",
                    info.Tags.Select(t => new { id = agent.Id, tag = t }), transaction, cancellationToken: ct));
            }

            if (events.Count > 0)
            {
                await AuditLog.WriteAsync(connection, transaction, database.Provider, events, agent.At, ct);
            }

            var activeKeys = await connection.ExecuteScalarAsync<long>(new CommandDefinition("""
                SELECT COUNT(*) FROM api_keys
                WHERE principal_id = @principal AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @now)
                """, new { principal = PrincipalOf(agent.Id), now = UnixTime.Ms(agent.At) }, transaction, cancellationToken: ct));
            var keyIssued = activeKeys == 0;
            if (keyIssued)
            {
                await ApiKeyStore.InsertAsync(connection, transaction, database.Provider, candidateKey, ct);
            }

            if (alsoInTransaction is not null)
            {
                await alsoInTransaction(connection, transaction);
            }

            var stored = await GetAsync(connection, transaction, agent.Id, ct);
            return new RegisterResult(stored!, created, versionCreated, keyIssued);
        }, ct, RegistryLock);

    private static Dictionary<string, string> Details(long version, byte[] sha, NewAgent agent)
    {
        var details = new Dictionary<string, string>
        {
            ["version"] = version.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["card_sha256"] = Convert.ToHexStringLower(sha),
            ["card_version"] = agent.Info.Version,
            ["upstream"] = agent.UpstreamUrl,
            ["card_signature"] = agent.CardSignature.Status,
        };
        if (agent.CardSignature.Detail is { } detail)
        {
            details["card_signature_detail"] = detail;
        }

        if (agent.CardSignature.KeyIds() is { } kids)
        {
            details["card_key_ids"] = kids;
        }

        return details;
    }

    public async Task<AgentRecord?> GetAsync(string id, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await GetAsync(connection, null, id, ct);
    }

    public async Task<string?> UpstreamAsync(string id, CancellationToken ct)
    {
        // One indexed column, no join and no card or skills to decode: this runs on every relayed call.
        await using var connection = await database.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<string>(new CommandDefinition(
            "SELECT upstream_url FROM agents WHERE id = @id", new { id }, cancellationToken: ct));
    }

    private static async Task<AgentRecord?> GetAsync(DbConnection connection, DbTransaction? transaction, string id, CancellationToken ct)
    {
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM agents a {CurrentVersion} WHERE a.id = @id", new { id }, transaction, cancellationToken: ct));
        return row?.ToRecord();
    }

    public async Task<Page<AgentRecord>> ListAsync(AgentFilter filter, string? after, int limit, CancellationToken ct)
    {
        var pattern = string.IsNullOrEmpty(filter.Query)
            ? null
            : "%" + filter.Query.ToLowerInvariant().Replace("\\", "\\\\", StringComparison.Ordinal)
                .Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal) + "%";
        await using var connection = await database.OpenAsync(ct);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition($"""
            SELECT {Columns} FROM agents a {CurrentVersion}
            WHERE (@after IS NULL OR a.id > @after)
              AND (@skill IS NULL OR EXISTS (SELECT 1 FROM agent_skills s WHERE s.agent_id = a.id AND s.skill_id = @skill))
              AND (@tag IS NULL OR EXISTS (SELECT 1 FROM agent_tags t WHERE t.agent_id = a.id AND t.tag = @tag))
              AND (@pattern IS NULL OR a.search_text LIKE @pattern ESCAPE '\')
            ORDER BY a.id
            LIMIT @take
            """, new
        {
            after,
            skill = string.IsNullOrEmpty(filter.Skill) ? null : filter.Skill,
            tag = string.IsNullOrEmpty(filter.Tag) ? null : filter.Tag.ToLowerInvariant(),
            pattern,
            take = limit + 1,
        }, cancellationToken: ct));
        return Page<AgentRecord>.From(rows.Select(r => r.ToRecord()).ToList(), limit, a => a.Id);
    }

    public async Task<byte[]?> GetCardAsync(string id, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<byte[]>(new CommandDefinition("""
            SELECT v.card FROM agents a JOIN agent_versions v ON v.agent_id = a.id AND v.version = a.version WHERE a.id = @id
            """, new { id }, cancellationToken: ct));
    }

    public async Task<byte[]?> GetCardAsync(string id, long version, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<byte[]>(new CommandDefinition(
            "SELECT card FROM agent_versions WHERE agent_id = @id AND version = @version", new { id, version }, cancellationToken: ct));
    }

    public async Task<(long Version, byte[] CardSha256)?> GetCardStampAsync(string id, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<(long Version, byte[] Sha)>(new CommandDefinition("""
            SELECT a.version, v.card_sha256 FROM agents a JOIN agent_versions v ON v.agent_id = a.id AND v.version = a.version WHERE a.id = @id
            """, new { id }, cancellationToken: ct));
        return row.Sha is null ? null : (row.Version, row.Sha);
    }

    public async Task<IReadOnlyList<AgentVersionRecord>?> ListVersionsAsync(string id, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var rows = (await connection.QueryAsync<VersionRow>(new CommandDefinition("""
            SELECT version, created_at, created_by, card_sha256, card_version, card_signature, card_signature_detail
            FROM agent_versions WHERE agent_id = @id ORDER BY version
            """, new { id }, cancellationToken: ct))).ToList();
        return rows.Count == 0
            ? null
            : rows.Select(r => new AgentVersionRecord(r.Version, UnixTime.From(r.CreatedAt), r.CreatedBy, r.CardSha256, r.CardVersion,
                r.CardSignature, r.CardSignatureDetail)).ToList();
    }

    public Task<bool> DeleteAsync(string id, string by, DateTimeOffset at, CancellationToken ct) =>
        database.ExclusiveAsync(async (connection, transaction) =>
        {
            var exists = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT COUNT(*) FROM agents WHERE id = @id", new { id }, transaction, cancellationToken: ct));
            if (exists == 0)
            {
                return false;
            }

            var principal = PrincipalOf(id);
            var keys = (await connection.QueryAsync<string>(new CommandDefinition(
                "SELECT id FROM api_keys WHERE principal_id = @principal AND revoked_at IS NULL ORDER BY id",
                new { principal }, transaction, cancellationToken: ct))).ToList();
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE api_keys SET revoked_at = @at, revoked_by = @by WHERE principal_id = @principal AND revoked_at IS NULL",
                new { principal, at = UnixTime.Ms(at), by }, transaction, cancellationToken: ct));
            foreach (var table in ChildTables)
            {
                await connection.ExecuteAsync(new CommandDefinition($"DELETE FROM {table} WHERE agent_id = @id", new { id }, transaction, cancellationToken: ct));
            }

            await connection.ExecuteAsync(new CommandDefinition("DELETE FROM agents WHERE id = @id", new { id }, transaction, cancellationToken: ct));
            var events = keys.Select(k => new AuditEvent(AuditTypes.KeyRevoke, by, k, AuditOutcome.Success,
                new Dictionary<string, string> { ["principal"] = principal, ["role"] = Roles.Agent, ["reason"] = "agent deleted" })).ToList();
            events.Insert(0, new AuditEvent(AuditTypes.AgentDelete, by, id, AuditOutcome.Success,
                new Dictionary<string, string> { ["revoked_keys"] = keys.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) }));
            await AuditLog.WriteAsync(connection, transaction, database.Provider, events, at, ct);
            return true;
        }, ct, RegistryLock);

    public async Task<IReadOnlyList<(string Id, string UpstreamUrl)>> ListUpstreamsAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var rows = await connection.QueryAsync<(string, string)>(new CommandDefinition(
            "SELECT id, upstream_url FROM agents ORDER BY id", cancellationToken: ct));
        return rows.ToList();
    }

    public Task SetHealthAsync(string id, string health, DateTimeOffset at, CancellationToken ct)
    {
        Task<int> Update(DbConnection connection, DbTransaction transaction) => connection.ExecuteAsync(new CommandDefinition(
            "UPDATE agents SET health = @health, last_checked_at = @at WHERE id = @id",
            new { id, health, at = UnixTime.Ms(at) }, transaction));
        return writes is null ? database.WriteAsync(Update, ct) : writes.ExecuteAsync(Update).WaitAsync(ct);
    }

    private sealed class Row
    {
        public string Id { get; init; } = "";
        public long Version { get; init; }
        public string Name { get; init; } = "";
        public string Description { get; init; } = "";
        public string CardVersion { get; init; } = "";
        public string Skills { get; init; } = "[]";
        public string? CardUrl { get; init; }
        public string UpstreamUrl { get; init; } = "";
        public string Health { get; init; } = AgentHealth.Unknown;
        public long? LastCheckedAt { get; init; }
        public long CreatedAt { get; init; }
        public string CreatedBy { get; init; } = "";
        public long UpdatedAt { get; init; }
        public string UpdatedBy { get; init; } = "";
        public string? CardSignature { get; init; }
        public string? CardSignatureDetail { get; init; }

        public AgentRecord ToRecord() => new(Id, Version, Name, Description, CardVersion,
            JsonSerializer.Deserialize(Skills, HubJsonContext.Default.ListAgentSkillSummary) ?? [],
            CardUrl, UpstreamUrl, Health, UnixTime.From(LastCheckedAt), UnixTime.From(CreatedAt), CreatedBy,
            UnixTime.From(UpdatedAt), UpdatedBy, CardSignature ?? Agents.CardSignature.UnsignedStatus, CardSignatureDetail);
    }

    private sealed class VersionRow
    {
        public long Version { get; init; }
        public long CreatedAt { get; init; }
        public string CreatedBy { get; init; } = "";
        public byte[] CardSha256 { get; init; } = [];
        public string CardVersion { get; init; } = "";
        public string CardSignature { get; init; } = Agents.CardSignature.UnsignedStatus;
        public string? CardSignatureDetail { get; init; }
    }
}
