using System.Data.Common;
using System.Runtime.CompilerServices;
using AgentHub.Storage;
using Dapper;

namespace AgentHub.Audit;

internal sealed record AuditQuery(string? Type, string? Actor, string? Target, DateTimeOffset? Since, DateTimeOffset? Until, long? After, int Limit);

/// <summary>Reads of the audit log: queries, export, proofs, checkpoints. Writes go through <see cref="AuditLog"/> only.</summary>
internal sealed class AuditStore(HubDatabase database)
{
    private const string Columns = "seq, time, type, actor, target, outcome, record, leaf_hash AS LeafHash, chain_hash AS ChainHash";

    public async Task<(List<StoredRecord> Items, long? Next)> QueryAsync(AuditQuery q, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var rows = (await connection.QueryAsync<StoredRecord>(new CommandDefinition($"""
            SELECT {Columns} FROM audit_records
            WHERE (@Type IS NULL OR type = @Type) AND (@Actor IS NULL OR actor = @Actor) AND (@Target IS NULL OR target = @Target)
              AND (@Since IS NULL OR time >= @Since) AND (@Until IS NULL OR time < @Until) AND (@After IS NULL OR seq > @After)
            ORDER BY seq
            LIMIT @Take
            """, new
        {
            q.Type,
            q.Actor,
            q.Target,
            Since = q.Since is { } s ? UnixTime.Ms(s) : (long?)null,
            Until = q.Until is { } u ? UnixTime.Ms(u) : (long?)null,
            q.After,
            Take = q.Limit + 1,
        }, cancellationToken: ct))).ToList();
        return rows.Count > q.Limit ? (rows[..q.Limit], rows[q.Limit - 1].Seq) : (rows, null);
    }

    /// <summary>Every record in order, streamed (export, verify).</summary>
    public async IAsyncEnumerable<StoredRecord> AllAsync([EnumeratorCancellation] CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await foreach (var record in ReadAllAsync(connection, null, ct))
        {
            yield return record;
        }
    }

    public static async IAsyncEnumerable<StoredRecord> ReadAllAsync(DbConnection connection, DbTransaction? transaction,
        [EnumeratorCancellation] CancellationToken ct)
    {
        // Pages by sequence so neither side holds the whole log in memory.
        long after = 0;
        while (true)
        {
            var page = (await connection.QueryAsync<StoredRecord>(new CommandDefinition(
                $"SELECT {Columns} FROM audit_records WHERE seq > @after ORDER BY seq LIMIT 5000",
                new { after }, transaction, cancellationToken: ct))).ToList();
            foreach (var record in page)
            {
                yield return record;
            }

            if (page.Count < 5000)
            {
                yield break;
            }

            after = page[^1].Seq;
        }
    }

    public async Task<List<string>> CheckpointsAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await CheckpointsAsync(connection, null, ct);
    }

    public static async Task<List<string>> CheckpointsAsync(DbConnection connection, DbTransaction? transaction, CancellationToken ct) =>
        (await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT jws FROM audit_checkpoints ORDER BY size", transaction: transaction, cancellationToken: ct))).ToList();

    public async Task<string?> LatestCheckpointAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.QueryFirstOrDefaultAsync<string>(new CommandDefinition(
            "SELECT jws FROM audit_checkpoints ORDER BY size DESC LIMIT 1", cancellationToken: ct));
    }

    public async Task<long> SizeAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long?>(new CommandDefinition("SELECT MAX(seq) FROM audit_records", cancellationToken: ct)) ?? 0;
    }

    /// <summary>Leaf hashes of the first <paramref name="size"/> records (proofs need them all; O(size)).</summary>
    public async Task<List<byte[]>> LeavesAsync(long size, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return (await connection.QueryAsync<byte[]>(new CommandDefinition(
            "SELECT leaf_hash FROM audit_records WHERE seq <= @size ORDER BY seq", new { size }, cancellationToken: ct))).ToList();
    }
}
