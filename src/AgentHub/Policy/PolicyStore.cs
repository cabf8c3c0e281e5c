using System.Data.Common;
using System.Security.Cryptography;
using AgentHub.Audit;
using AgentHub.Storage;
using Dapper;

namespace AgentHub.Policy;

internal sealed record NewPolicyRule(string Caller, string Agent, IReadOnlyList<string> Methods, string Effect, string? Description,
    DateTimeOffset CreatedAt, string CreatedBy);

/// <summary>
/// Policy rules and the policy version. Every change bumps the version in the same transaction as the change and its
/// audit record, so an instance that reads the version knows whether its compiled rules are current.
/// </summary>
internal sealed class PolicyStore(HubDatabase database)
{
    private const string Columns = "id, caller, agent, methods, effect, description, created_at, created_by";

    public async Task<PolicyRule> CreateAsync(NewPolicyRule rule, CancellationToken ct)
    {
        var stored = new PolicyRule(NewId(), rule.Caller, rule.Agent, rule.Methods, rule.Effect, rule.Description, rule.CreatedAt, rule.CreatedBy);
        return await database.WriteAsync(async (connection, transaction) =>
        {
            await connection.ExecuteAsync(new CommandDefinition($"""
                INSERT INTO policy_rules ({Columns})
                VALUES (@Id, @Caller, @Agent, @Methods, @Effect, @Description, @CreatedAt, @CreatedBy)
                """, new
            {
                stored.Id,
                stored.Caller,
                stored.Agent,
                Methods = string.Join(',', stored.Methods),
                stored.Effect,
                stored.Description,
                CreatedAt = UnixTime.Ms(stored.CreatedAt),
                stored.CreatedBy,
            }, transaction, cancellationToken: ct));
            await BumpVersionAsync(connection, transaction, ct);
            await AuditLog.WriteAsync(connection, transaction, database.Provider,
                [new AuditEvent(AuditTypes.PolicyCreate, rule.CreatedBy, stored.Id, AuditOutcome.Success, Details(stored))], rule.CreatedAt, ct);
            return stored;
        }, ct);
    }

    /// <summary>Deletes a rule; false when there is no such rule (nothing is written then).</summary>
    public Task<bool> DeleteAsync(string id, string deletedBy, DateTimeOffset at, CancellationToken ct) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
                $"DELETE FROM policy_rules WHERE id = @id RETURNING {Columns}", new { id }, transaction, cancellationToken: ct));
            if (row is null)
            {
                return false;
            }

            await BumpVersionAsync(connection, transaction, ct);
            await AuditLog.WriteAsync(connection, transaction, database.Provider,
                [new AuditEvent(AuditTypes.PolicyDelete, deletedBy, id, AuditOutcome.Success, Details(row.ToRule()))], at, ct);
            return true;
        }, ct);

    public async Task<PolicyRule?> GetAsync(string id, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM policy_rules WHERE id = @id", new { id }, cancellationToken: ct));
        return row?.ToRule();
    }

    public async Task<Page<PolicyRule>> ListAsync(string? caller, string? agent, string? after, int limit, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition($"""
            SELECT {Columns} FROM policy_rules
            WHERE (@caller IS NULL OR caller = @caller) AND (@agent IS NULL OR agent = @agent) AND (@after IS NULL OR id > @after)
            ORDER BY id
            LIMIT @take
            """, new { caller, agent, after, take = limit + 1 }, cancellationToken: ct));
        return Page<PolicyRule>.From(rows.Select(r => r.ToRule()).ToList(), limit, r => r.Id);
    }

    public async Task<long> VersionAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await VersionAsync(connection, null, ct);
    }

    /// <summary>
    /// Every rule and the version they are at least as new as: the version is read first, so a change that commits in
    /// between makes the next version check reload again rather than leave a change unseen.
    /// </summary>
    public async Task<(long Version, IReadOnlyList<PolicyRule> Rules)> LoadAllAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var version = await VersionAsync(connection, null, ct);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM policy_rules ORDER BY id", cancellationToken: ct));
        return (version, rows.Select(r => r.ToRule()).ToList());
    }

    private static Task<long> VersionAsync(DbConnection connection, DbTransaction? transaction, CancellationToken ct) =>
        connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT version FROM policy_version WHERE id = 1", transaction: transaction, cancellationToken: ct));

    private static Task<int> BumpVersionAsync(DbConnection connection, DbTransaction transaction, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition(
            "UPDATE policy_version SET version = version + 1 WHERE id = 1", transaction: transaction, cancellationToken: ct));

    private static Dictionary<string, string> Details(PolicyRule rule) => new()
    {
        ["caller"] = rule.Caller,
        ["agent"] = rule.Agent,
        ["methods"] = string.Join(',', rule.Methods),
        ["effect"] = rule.Effect,
    };

    // "pol_" + 80 random bits in base32: unguessable, fixed length, safe in URLs and on the command line.
    private static string NewId()
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        Span<byte> bytes = stackalloc byte[10];
        RandomNumberGenerator.Fill(bytes);
        Span<char> chars = stackalloc char[16];
        for (var i = 0; i < chars.Length; i++)
        {
            var bitIndex = i * 5;
            var value = ((bytes[bitIndex / 8] << 8) | (bitIndex / 8 + 1 < bytes.Length ? bytes[bitIndex / 8 + 1] : 0)) >> (11 - bitIndex % 8);
            chars[i] = alphabet[value & 31];
        }

        return "pol_" + new string(chars);
    }

    private sealed class Row
    {
        public string Id { get; init; } = "";
        public string Caller { get; init; } = "";
        public string Agent { get; init; } = "";
        public string Methods { get; init; } = "";
        public string Effect { get; init; } = "";
        public string? Description { get; init; }
        public long CreatedAt { get; init; }
        public string CreatedBy { get; init; } = "";

        // The method names and the effect are the shared constants, not one string per rule read (10,000 rules held
        // their own copies of the same few words).
        public PolicyRule ToRule() =>
            new(Id, Caller, Agent, PolicyMethods.Canonical(Methods.Split(',')), PolicyEffects.Canonical(Effect), Description, UnixTime.From(CreatedAt), CreatedBy);
    }
}
