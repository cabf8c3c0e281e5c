using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using AgentHub.Audit;
using AgentHub.Identity;
using AgentHub.Storage;
using AgentHub.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace AgentHub.Tests.Audit;

/// <summary>
/// Mutation test: a real log (written by the running hub) is tampered with in every way the verifier must catch —
/// an edited field, a deleted record, two swapped records, a truncated tail, a forged checkpoint, a rewritten chain —
/// 1,000 random times per kind, each in a transaction that is rolled back, on SQLite and on PostgreSQL.
/// </summary>
public sealed class AuditTamperingTests
{
    private const int PerKind = 1000;

    public enum Kind
    {
        EditedField,
        DeletedRecord,
        SwappedRecords,
        TruncatedTail,
        ForgedCheckpoint,
        RewrittenChain,
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Every_random_tampering_of_every_kind_is_detected(Db db)
    {
        await using var hub = await HubTestHost.StartAsync(db, new Dictionary<string, string?> { ["Audit:CheckpointEveryRecords"] = "15" });
        await WriteRealLogAsync(hub);
        var database = hub.Services.GetRequiredService<HubDatabase>();
        var fileCheckpoints = AuditSources.ReadCheckpointFile(AuditCheckpointer.FilePath(hub.DataDir)).ToList();
        Assert.NotEmpty(fileCheckpoints);

        await using var connection = await database.OpenAsync(CancellationToken.None);
        var clean = await AuditSources.VerifyDatabaseAsync(connection, null, fileCheckpoints, null, CancellationToken.None);
        Assert.True(clean.Ok, clean.ToString());
        var size = clean.Records;
        Assert.True(size >= 60, $"log too small for the test: {size}");

        var seed = Environment.TickCount;
        var random = new Random(seed);
        var detected = new Dictionary<Kind, int>();
        foreach (var kind in Enum.GetValues<Kind>())
        {
            for (var i = 0; i < PerKind; i++)
            {
                await using var transaction = await connection.BeginTransactionAsync();
                var what = await TamperAsync(connection, transaction, kind, size, random);
                var result = await AuditSources.VerifyDatabaseAsync(connection, transaction, fileCheckpoints, null, CancellationToken.None);
                await transaction.RollbackAsync();
                Assert.False(result.Ok, $"not detected (seed {seed}): {kind}: {what}");
                detected[kind] = detected.GetValueOrDefault(kind) + 1;
            }
        }

        Assert.All(Enum.GetValues<Kind>(), k => Assert.Equal(PerKind, detected[k]));
        var after = await AuditSources.VerifyDatabaseAsync(connection, null, fileCheckpoints, null, CancellationToken.None);
        Assert.True(after.Ok, "rollback left the log damaged: " + after);
    }

    /// <summary>Admin changes and authentications, as the hub records them; ends with a checkpoint over everything.</summary>
    internal static async Task WriteRealLogAsync(HubTestHost hub)
    {
        for (var i = 0; i < 20; i++)
        {
            var key = await hub.CreateKeyAsync(HubTestHost.UniqueUser("t"), i % 2 == 0 ? "auditor" : "operator");
            await hub.Client(key.Key).WhoAmIAsync();
            await hub.Http("ahk_" + key.Id + "_" + new string('A', 43)).GetAsync("/api/v1/me");
            if (i % 5 == 0)
            {
                await hub.AdminClient().RevokeKeyAsync(key.Id);
            }
        }

        await hub.AdminClient().RotateSigningKeyAsync();
        await hub.Services.GetRequiredService<AuditCheckpointer>().CheckpointAsync(CancellationToken.None);
    }

    private static async Task<string> TamperAsync(DbConnection c, DbTransaction tx, Kind kind, long size, Random random)
    {
        switch (kind)
        {
            case Kind.EditedField:
                {
                    var seq = random.NextInt64(1, size + 1);
                    var (column, value) = random.Next(7) switch
                    {
                        0 => ("type", (object)"key.delete"),
                        1 => ("actor", "user:mallory"),
                        2 => ("target", "someone-else"),
                        3 => ("outcome", await c.QuerySingleAsync<string>("SELECT outcome FROM audit_records WHERE seq = @seq", new { seq }, tx) == "failure" ? "success" : "failure"),
                        4 => ("time", 1L),
                        5 => ("record", await EditedJsonAsync(c, tx, seq, random)),
                        _ => ("leaf_hash", RandomNumberGenerator.GetBytes(32)),
                    };
                    await c.ExecuteAsync($"UPDATE audit_records SET {column} = @value WHERE seq = @seq", new { value, seq }, tx);
                    return $"{column} of {seq}";
                }

            case Kind.DeletedRecord:
                {
                    var seq = random.NextInt64(1, size + 1);
                    await c.ExecuteAsync("DELETE FROM audit_records WHERE seq = @seq", new { seq }, tx);
                    if (seq == size)
                    {
                        // The last record: what remains must still be caught by the checkpoint that covers it.
                        await c.ExecuteAsync("DELETE FROM audit_checkpoints WHERE size >= @seq", new { seq }, tx);
                    }

                    return $"deleted {seq}";
                }

            case Kind.SwappedRecords:
                {
                    long a, b;
                    List<Row> rows;
                    do
                    {
                        // Two records that say different things (swapping identical ones changes nothing).
                        a = random.NextInt64(1, size);
                        b = random.NextInt64(a + 1, size + 1);
                        rows = (await c.QueryAsync<Row>("SELECT seq, time, type, actor, target, outcome, record, leaf_hash AS LeafHash, chain_hash AS ChainHash FROM audit_records WHERE seq IN (@a, @b) ORDER BY seq", new { a, b }, tx)).ToList();
                    }
                    while (AuditRecord.Parse(Encoding.UTF8.GetBytes(rows[0].Record))! with { Seq = 0 } is var x &&
                           AuditRecord.Parse(Encoding.UTF8.GetBytes(rows[1].Record))! with { Seq = 0 } is var y &&
                           x.Canonical().AsSpan().SequenceEqual(y.Canonical()));
                    var resequence = random.Next(2) == 0; // a careful attacker also fixes the sequence numbers inside the JSON
                    await WriteRowAsync(c, tx, a, rows[1], resequence);
                    await WriteRowAsync(c, tx, b, rows[0], resequence);
                    return $"swapped {a} and {b} (resequenced: {resequence})";
                }

            case Kind.TruncatedTail:
                {
                    var keep = random.NextInt64(0, size);
                    await c.ExecuteAsync("DELETE FROM audit_records WHERE seq > @keep", new { keep }, tx);
                    var alsoCheckpoints = random.Next(2) == 0;
                    if (alsoCheckpoints)
                    {
                        await c.ExecuteAsync("DELETE FROM audit_checkpoints WHERE size > @keep", new { keep }, tx);
                    }

                    return $"truncated to {keep} (database checkpoints too: {alsoCheckpoints})";
                }

            case Kind.ForgedCheckpoint:
                {
                    var checkpoints = (await c.QueryAsync<(long Size, string Jws)>("SELECT size, jws FROM audit_checkpoints ORDER BY size", transaction: tx)).ToList();
                    var (cpSize, jws) = checkpoints[random.Next(checkpoints.Count)];
                    var parsed = CheckpointJws.Parse(jws)!;
                    using var attacker = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                    var forgedRoot = RandomNumberGenerator.GetBytes(32);
                    string forged;
                    switch (random.Next(3))
                    {
                        case 0: // signed with another key under the hub's kid
                            forged = CheckpointJws.Sign(attacker, parsed.Kid, parsed.Origin, cpSize, forgedRoot, parsed.Time);
                            break;
                        case 1: // the hub's signature kept, the payload changed
                            var parts = jws.Split('.');
                            var original = Encoding.UTF8.GetString(CheckpointJws.FromBase64Url(parts[1]));
                            var payload = original.Replace($"\"size\":{cpSize},", $"\"size\":{cpSize - 1},", StringComparison.Ordinal);
                            Assert.NotEqual(original, payload);
                            forged = parts[0] + "." + CheckpointJws.Base64Url(Encoding.UTF8.GetBytes(payload)) + "." + parts[2];
                            break;
                        default: // the attacker plants a public key of its own in the database and signs with it
                            var p = attacker.ExportParameters(false);
                            var jwk = new Jwk("EC", "P-256", CheckpointJws.Base64Url(p.Q.X!), CheckpointJws.Base64Url(p.Q.Y!), "attacker", "sig", "ES256");
                            await c.ExecuteAsync("INSERT INTO signing_keys (kid, algorithm, public_jwk, private_key, created_at) VALUES ('attacker', 'ES256', @jwk, @none, 0)",
                                new { jwk = System.Text.Json.JsonSerializer.Serialize(jwk, HubJsonContext.Default.Jwk), none = new byte[] { 0 } }, tx);
                            forged = CheckpointJws.Sign(attacker, "attacker", parsed.Origin, cpSize, forgedRoot, parsed.Time);
                            break;
                    }

                    await c.ExecuteAsync("UPDATE audit_checkpoints SET jws = @forged WHERE size = @cpSize", new { forged, cpSize }, tx);
                    return $"forged checkpoint at {cpSize}";
                }

            case Kind.RewrittenChain:
                {
                    // The attacker edits a record and recomputes every hash after it, as anyone with database access could.
                    var from = random.NextInt64(1, size + 1);
                    var rows = (await c.QueryAsync<Row>("SELECT seq, time, type, actor, target, outcome, record, leaf_hash AS LeafHash, chain_hash AS ChainHash FROM audit_records WHERE seq >= @from ORDER BY seq", new { from }, tx)).ToList();
                    var previous = from == 1 ? new byte[32] : await c.QuerySingleAsync<byte[]>("SELECT chain_hash FROM audit_records WHERE seq = @s", new { s = from - 1 }, tx);
                    for (var i = 0; i < rows.Count; i++)
                    {
                        var record = AuditRecord.Parse(Encoding.UTF8.GetBytes(rows[i].Record))!;
                        if (i == 0)
                        {
                            record = record with { Actor = "user:mallory" };
                        }

                        var canonical = record.Canonical();
                        var chain = SHA256.HashData([.. previous, .. canonical]);
                        await c.ExecuteAsync("UPDATE audit_records SET actor = @Actor, record = @json, leaf_hash = @leaf, chain_hash = @chain WHERE seq = @Seq",
                            new { record.Actor, json = Encoding.UTF8.GetString(canonical), leaf = Rfc9162.HashLeaf(canonical), chain, record.Seq }, tx);
                        previous = chain;
                    }

                    return $"rewrote the chain from {from}";
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }

    private static async Task<string> EditedJsonAsync(DbConnection c, DbTransaction tx, long seq, Random random)
    {
        var json = await c.QuerySingleAsync<string>("SELECT record FROM audit_records WHERE seq = @seq", new { seq }, tx);
        var position = random.Next(json.Length);
        var replacement = json[position] == 'x' ? 'y' : 'x';
        return json[..position] + replacement + json[(position + 1)..];
    }

    private static Task WriteRowAsync(DbConnection c, DbTransaction tx, long seq, Row row, bool resequence)
    {
        var record = row.Record;
        if (resequence)
        {
            var parsed = AuditRecord.Parse(Encoding.UTF8.GetBytes(record))! with { Seq = seq };
            record = Encoding.UTF8.GetString(parsed.Canonical());
        }

        return c.ExecuteAsync("""
            UPDATE audit_records SET time = @Time, type = @Type, actor = @Actor, target = @Target, outcome = @Outcome,
                record = @record, leaf_hash = @LeafHash, chain_hash = @ChainHash WHERE seq = @seq
            """, new { row.Time, row.Type, row.Actor, row.Target, row.Outcome, record, row.LeafHash, row.ChainHash, seq }, tx);
    }

    private sealed class Row
    {
        public long Seq { get; init; }
        public long Time { get; init; }
        public string Type { get; init; } = "";
        public string Actor { get; init; } = "";
        public string? Target { get; init; }
        public string Outcome { get; init; } = "";
        public string Record { get; init; } = "";
        public byte[] LeafHash { get; init; } = [];
        public byte[] ChainHash { get; init; } = [];
    }
}
