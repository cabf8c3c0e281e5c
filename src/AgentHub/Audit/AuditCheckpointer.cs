using System.Security.Cryptography;
using System.Text;
using AgentHub.Identity;
using AgentHub.Storage;
using Dapper;
using Microsoft.Extensions.Options;

namespace AgentHub.Audit;

/// <summary>
/// Signs a checkpoint every N records or every T seconds while records arrive. Each checkpoint is stored in the
/// database and appended to <c>DATA/audit/checkpoints</c>, outside the database, so a rewrite of the database alone
/// is detected by <c>agenthub audit verify</c>.
/// </summary>
internal sealed partial class AuditCheckpointer : BackgroundService
{
    private readonly HubDatabase _database;
    private readonly SigningKeyStore _signingKeys;
    private readonly TimeProvider _time;
    private readonly AuditOptions _options;
    private readonly string _file;
    private readonly ILogger<AuditCheckpointer> _logger;
    private readonly SemaphoreSlim _due = new(0);
    private long _lastSize = -1;
    private string? _origin; // fixed for the database's life once created

    public AuditCheckpointer(HubDatabase database, SigningKeyStore signingKeys, AuditLog log, TimeProvider time,
        IOptions<AuditOptions> options, IOptions<HubOptions> hub, ILogger<AuditCheckpointer> logger)
    {
        _database = database;
        _signingKeys = signingKeys;
        _time = time;
        _options = options.Value;
        _logger = logger;
        _file = FilePath(hub.Value.Data);
        log.Committed += size =>
        {
            if (_lastSize >= 0 && size - _lastSize >= _options.CheckpointEveryRecords && _due.CurrentCount == 0)
            {
                _due.Release();
            }
        };
    }

    public static string FilePath(string dataDir) => Path.Combine(Path.GetFullPath(dataDir), "audit", "checkpoints");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await CheckpointAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogCheckpointFailed(e);
            }

            try
            {
                await _due.WaitAsync(_options.CheckpointInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        // A last checkpoint on the way out, so a clean shutdown leaves every record covered.
        try
        {
            await CheckpointAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is System.Data.Common.DbException or IOException or InvalidOperationException)
        {
            LogCheckpointFailed(e);
        }
    }

    /// <summary>Signs a checkpoint over every record written so far, unless the newest checkpoint already covers them.</summary>
    /// <remarks>
    /// Committed records never change, so the tree is read and computed, the checkpoint signed and appended to the file
    /// on a plain read connection, holding no lock: under load a checkpoint that held the audit writers up for its
    /// reads, signature and file sync stalled every call in flight. Only the row is written, in a short transaction,
    /// and not at all when a newer checkpoint got in first (another instance); every checkpoint is valid for its size.
    /// </remarks>
    public async Task<Checkpoint?> CheckpointAsync(CancellationToken ct)
    {
        var origin = _origin ??= await _database.WriteAsync((connection, transaction) => OriginAsync(connection, transaction, ct), ct);
        long size;
        CompactRange range;
        await using (var connection = await _database.OpenAsync(ct))
        {
            var latest = await connection.QueryFirstOrDefaultAsync<(long Size, byte[] Frontier)?>(new CommandDefinition(
                "SELECT size, frontier FROM audit_checkpoints ORDER BY size DESC LIMIT 1", cancellationToken: ct));
            var covered = latest?.Size ?? 0;
            size = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                "SELECT MAX(seq) FROM audit_records", cancellationToken: ct)) ?? 0;
            _lastSize = Math.Max(covered, _lastSize);
            if (size <= covered)
            {
                return null;
            }

            range = CompactRange.Deserialize(latest?.Frontier);
            var leaves = await connection.QueryAsync<byte[]>(new CommandDefinition(
                "SELECT leaf_hash FROM audit_records WHERE seq > @covered AND seq <= @size ORDER BY seq",
                new { covered, size }, cancellationToken: ct));
            foreach (var leaf in leaves)
            {
                range.Append(leaf);
            }
        }

        if (range.Size != size)
        {
            throw new InvalidOperationException($"The audit log has gaps: {range.Size} records up to sequence {size}.");
        }

        var now = _time.GetUtcNow();
        var (kid, key) = await _signingKeys.GetActiveAsync(ct);
        string jws;
        using (key)
        {
            jws = CheckpointJws.Sign(key, kid, origin, size, range.Root(), now);
        }

        AppendToFile(jws);
        var stored = await _database.WriteAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO audit_checkpoints (size, root, time, kid, jws, frontier)
            SELECT @size, @root, @time, @kid, @jws, @frontier
            WHERE NOT EXISTS (SELECT 1 FROM audit_checkpoints WHERE size >= @size)
            ON CONFLICT (size) DO NOTHING
            """, new { size, root = range.Root(), time = UnixTime.Ms(now), kid, jws, frontier = range.Serialize() },
            transaction, cancellationToken: ct)), ct);
        _lastSize = Math.Max(size, _lastSize);
        if (stored == 0)
        {
            return null; // a newer one is in the database; this one, in the file, is valid as well
        }

        LogCheckpoint(size);
        return new Checkpoint(origin, size, range.Root(), now, kid, jws);
    }

    /// <summary>The log's name in its checkpoints: one per database, created on first use.</summary>
    public static async Task<string> OriginAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction? transaction, CancellationToken ct)
    {
        var candidate = Encoding.UTF8.GetBytes("agenthub/" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)));
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO hub_settings (name, value, updated_at) VALUES ('audit.origin', @candidate, 0) ON CONFLICT (name) DO NOTHING
            """, new { candidate }, transaction, cancellationToken: ct));
        var value = await connection.QuerySingleAsync<byte[]>(new CommandDefinition(
            "SELECT value FROM hub_settings WHERE name = 'audit.origin'", transaction: transaction, cancellationToken: ct));
        return Encoding.UTF8.GetString(value);
    }

    private void AppendToFile(string jws)
    {
        var directory = Path.GetDirectoryName(_file)!;
        DataDirectory.Ensure(directory);

        var options = new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.Read };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(_file, options);
        stream.Write(Encoding.ASCII.GetBytes(jws + "\n"));
        stream.Flush(flushToDisk: true);
    }

    public override void Dispose()
    {
        _due.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Signed audit checkpoint at size {Size}")]
    private partial void LogCheckpoint(long size);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Error, Message = "Audit checkpoint failed")]
    private partial void LogCheckpointFailed(Exception exception);
}
