using AgentHub.Identity;

namespace AgentHub.Audit;

/// <summary>A record as it sits in the database or an export: the hashed canonical JSON and the columns beside it.</summary>
internal sealed record StoredRecord(long Seq, long Time, string Type, string Actor, string? Target, string Outcome,
    string Record, byte[] LeafHash, byte[] ChainHash);

internal sealed record VerifyResult(bool Ok, long Records, int Checkpoints, long? FirstBadSeq, string? Problem)
{
    public override string ToString() => Ok
        ? $"OK: {Records} records, {Checkpoints} checkpoints"
        : $"FAILED at {(FirstBadSeq is { } s ? $"sequence {s}" : "checkpoints")}: {Problem}";
}

/// <summary>
/// Re-derives everything: each record's canonical form, leaf hash and chain hash; the Merkle root at every checkpoint;
/// every checkpoint's signature; and that the log still holds every record a checkpoint covers. Reports the first
/// problem with the sequence number where it is.
/// </summary>
internal static class AuditVerifier
{
    public static async Task<VerifyResult> VerifyAsync(IAsyncEnumerable<StoredRecord> records, IEnumerable<string> databaseCheckpoints,
        IEnumerable<string> fileCheckpoints, IReadOnlyCollection<Jwk> keys)
    {
        long expected = 0;
        var expectedRoots = new SortedDictionary<long, byte[]>();
        var sources = new Dictionary<long, string>();
        string? origin = null;
        var count = 0;
        foreach (var (jws, source) in databaseCheckpoints.Select(j => (j, "the database")).Concat(fileCheckpoints.Select(j => (j, "the checkpoint file"))))
        {
            count++;
            if (CheckpointJws.Parse(jws) is not { } checkpoint)
            {
                return Fail(null, $"a checkpoint in {source} is malformed");
            }

            if (!CheckpointJws.Verify(jws, keys))
            {
                return Fail(null, $"the checkpoint at size {checkpoint.Size} in {source} has no valid signature by a hub key (kid {checkpoint.Kid})");
            }

            origin ??= checkpoint.Origin;
            if (checkpoint.Origin != origin)
            {
                return Fail(null, $"the checkpoint at size {checkpoint.Size} in {source} belongs to another log ({checkpoint.Origin})");
            }

            if (expectedRoots.TryGetValue(checkpoint.Size, out var known) && !known.AsSpan().SequenceEqual(checkpoint.Root))
            {
                return Fail(null, $"two signed checkpoints at size {checkpoint.Size} disagree ({sources[checkpoint.Size]} and {source})");
            }

            expectedRoots[checkpoint.Size] = checkpoint.Root;
            sources.TryAdd(checkpoint.Size, source);
        }

        var range = new CompactRange();
        var previous = new byte[32];
        await foreach (var stored in records)
        {
            expected++;
            if (stored.Seq != expected)
            {
                return stored.Seq > expected
                    ? Fail(expected, $"record {expected} is missing (the next record is {stored.Seq})")
                    : Fail(stored.Seq, $"record {stored.Seq} is out of order (expected {expected})");
            }

            var bytes = System.Text.Encoding.UTF8.GetBytes(stored.Record);
            if (AuditRecord.Parse(bytes) is not { } record || !record.Canonical().AsSpan().SequenceEqual(bytes))
            {
                return Fail(expected, "the record is not in canonical form (edited)");
            }

            var column = Mismatch(stored, record);
            if (column is not null)
            {
                return Fail(expected, $"the '{column}' column differs from the hashed record (edited)");
            }

            var leaf = Merkle.LeafHash(bytes);
            if (!leaf.AsSpan().SequenceEqual(stored.LeafHash))
            {
                return Fail(expected, "the leaf hash does not match the record (edited)");
            }

            var chain = AuditLog.ChainHash(previous, bytes);
            if (!chain.AsSpan().SequenceEqual(stored.ChainHash))
            {
                return Fail(expected, "the chain hash does not match (a record was edited, inserted, removed or reordered)");
            }

            previous = chain;
            range.Append(leaf);
            if (expectedRoots.TryGetValue(range.Size, out var root) && !root.AsSpan().SequenceEqual(range.Root()))
            {
                return Fail(FirstDifference(expectedRoots, range.Size), $"the first {range.Size} records do not match the signed checkpoint at size {range.Size} (the log was rewritten)");
            }
        }

        if (expectedRoots.Count > 0 && expectedRoots.Keys.Max() > expected)
        {
            return Fail(expected + 1, $"the log holds {expected} records but a signed checkpoint covers {expectedRoots.Keys.Max()} (records were removed from the end)");
        }

        return new VerifyResult(true, expected, count, null, null);

        VerifyResult Fail(long? seq, string problem) => new(false, expected, count, seq, problem);
    }

    // The rewrite happened after the previous checkpoint that still matched.
    private static long FirstDifference(SortedDictionary<long, byte[]> roots, long size) =>
        roots.Keys.Where(s => s < size).DefaultIfEmpty(0).Max() + 1;

    private static string? Mismatch(StoredRecord stored, AuditRecord record) =>
        stored.Seq != record.Seq ? "seq"
        : stored.Time != record.Time.ToUnixTimeMilliseconds() ? "time"
        : stored.Type != record.Type ? "type"
        : stored.Actor != record.Actor ? "actor"
        : stored.Target != record.Target ? "target"
        : stored.Outcome != record.Outcome ? "outcome"
        : null;
}

/// <summary>Where <c>agenthub audit verify</c> reads from: a database (with its checkpoint file) or an export.</summary>
internal static class AuditSources
{
    /// <summary>Verifies the log in a database, read through the caller's connection (and transaction, if any).</summary>
    public static async Task<VerifyResult> VerifyDatabaseAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction? transaction,
        IEnumerable<string> fileCheckpoints, IReadOnlyCollection<Jwk>? trustedKeys, CancellationToken ct)
    {
        var keys = trustedKeys ?? await DatabaseKeysAsync(connection, transaction, ct);
        var checkpoints = await AuditStore.CheckpointsAsync(connection, transaction, ct);
        return await AuditVerifier.VerifyAsync(AuditStore.ReadAllAsync(connection, transaction, ct), checkpoints, fileCheckpoints, keys);
    }

    public static async Task<IReadOnlyCollection<Jwk>> DatabaseKeysAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction? transaction, CancellationToken ct) =>
        (await Dapper.SqlMapper.QueryAsync<string>(connection, new Dapper.CommandDefinition(
            "SELECT public_jwk FROM signing_keys", transaction: transaction, cancellationToken: ct)))
        .Select(j => System.Text.Json.JsonSerializer.Deserialize(j, HubJsonContext.Default.Jwk)!).ToList();

    public static IEnumerable<string> ReadCheckpointFile(string path) =>
        File.Exists(path) ? File.ReadLines(path).Where(l => !string.IsNullOrWhiteSpace(l)) : [];

    public static IReadOnlyCollection<Jwk> ReadJwks(string path) =>
        System.Text.Json.JsonSerializer.Deserialize(File.ReadAllText(path), HubJsonContext.Default.JwkSet)?.Keys
        ?? throw new FormatException($"{path} is not a JWKS.");

    /// <summary>Verifies an export (NDJSON of records then checkpoints) against a JWKS.</summary>
    public static Task<VerifyResult> VerifyExportAsync(string exportPath, IReadOnlyCollection<Jwk> keys)
    {
        var checkpoints = new List<string>();
        foreach (var line in File.ReadLines(exportPath))
        {
            if (line.Contains("\"kind\":\"checkpoint\"", StringComparison.Ordinal) &&
                System.Text.Json.JsonSerializer.Deserialize(line, HubJsonContext.Default.ExportLineDto)?.Jws is { } jws)
            {
                checkpoints.Add(jws);
            }
        }

        return AuditVerifier.VerifyAsync(Records(exportPath), checkpoints, [], keys);

        static async IAsyncEnumerable<StoredRecord> Records(string path)
        {
            await foreach (var line in File.ReadLinesAsync(path))
            {
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                ExportLineDto? dto;
                try
                {
                    dto = System.Text.Json.JsonSerializer.Deserialize(line, HubJsonContext.Default.ExportLineDto);
                }
                catch (System.Text.Json.JsonException)
                {
                    dto = new ExportLineDto("record", Seq: -1);
                }

                if (dto is { Kind: "record" })
                {
                    yield return dto.ToStored();
                }
            }
        }
    }
}
