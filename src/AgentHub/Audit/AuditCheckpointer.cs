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
    public Task<Checkpoint?> CheckpointAsync(CancellationToken ct) =>
        _database.ExclusiveAsync<Checkpoint?>(async (connection, transaction) =>
        {
            var latest = await connection.QueryFirstOrDefaultAsync<(long Size, byte[] Frontier)?>(new CommandDefinition(
                "SELECT size, frontier FROM audit_checkpoints ORDER BY size DESC LIMIT 1", transaction: transaction, cancellationToken: ct));
            var covered = latest?.Size ?? 0;
            var size = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                "SELECT MAX(seq) FROM audit_records", transaction: transaction, cancellationToken: ct)) ?? 0;
            _lastSize = Math.Max(covered, _lastSize);
            if (size <= covered)
            {
                return null;
            }

            var range = CompactRange.Deserialize(latest?.Frontier);
            var leaves = await connection.QueryAsync<byte[]>(new CommandDefinition(
                "SELECT leaf_hash FROM audit_records WHERE seq > @covered AND seq <= @size ORDER BY seq",
                new { covered, size }, transaction, cancellationToken: ct));
            foreach (var leaf in leaves)
            {
                range.Append(leaf);
            }

            if (range.Size != size)
            {
                throw new InvalidOperationException($"The audit log has gaps: {range.Size} records up to sequence {size}.");
            }

            var origin = await OriginAsync(connection, transaction, ct);
            var now = _time.GetUtcNow();
            var (kid, key) = await _signingKeys.GetActiveAsync(ct);
            string jws;
            using (key)
            {
                jws = CheckpointJws.Sign(key, kid, origin, size, range.Root(), now);
            }

            AppendToFile(jws);
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO audit_checkpoints (size, root, time, kid, jws, frontier)
                VALUES (@size, @root, @time, @kid, @jws, @frontier)
                """, new { size, root = range.Root(), time = UnixTime.Ms(now), kid, jws, frontier = range.Serialize() },
                transaction, cancellationToken: ct));
            _lastSize = size;
            LogCheckpoint(size);
            return new Checkpoint(origin, size, range.Root(), now, kid, jws);
        }, ct, HubDatabase.AuditLock);

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
