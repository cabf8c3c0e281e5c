using System.Collections.Concurrent;
using AgentHub.Storage;
using Dapper;
using Microsoft.Extensions.Options;

namespace AgentHub.Signatures;

/// <summary>
/// Accepts each <c>(keyid, nonce)</c> pair once while a signature carrying it could still be fresh. The database row
/// (primary key on the pair) is the decision, so every hub instance sharing a PostgreSQL database sees the same
/// answer; an in-process set in front refuses repeats that arrive at this instance without a round trip.
/// </summary>
internal sealed class ReplayCache(HubDatabase database, GroupCommit writes, TimeProvider time)
{
    /// <summary>Above this many remembered pairs the in-process set stops growing; the database still decides.</summary>
    public const int MaxLocalEntries = 200_000;

    private readonly ConcurrentDictionary<(string KeyId, string Nonce), long> _local = new();

    /// <summary>True the first time the pair is seen; false for a replay. Throws when the database cannot record it.</summary>
    public async Task<bool> TryAcceptAsync(string keyId, string nonce, DateTimeOffset rememberUntil, CancellationToken ct)
    {
        var until = rememberUntil.ToUnixTimeMilliseconds();
        var pair = (keyId, nonce);
        var remembered = _local.Count < MaxLocalEntries;
        if (remembered && !_local.TryAdd(pair, until))
        {
            return false;
        }

        try
        {
            var inserted = await writes.ExecuteAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO signature_nonces (key_id, nonce, expires_at) VALUES (@keyId, @nonce, @until)
                ON CONFLICT (key_id, nonce) DO NOTHING
                """, new { keyId, nonce, until }, transaction))).WaitAsync(ct);
            return inserted == 1;
        }
        catch
        {
            if (remembered)
            {
                _local.TryRemove(pair, out _); // not recorded: the caller may retry the same request
            }

            throw;
        }
    }

    /// <summary>Forgets pairs whose signatures can no longer be fresh; returns how many rows were deleted.</summary>
    public async Task<int> PurgeAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var entry in _local)
        {
            if (entry.Value < now)
            {
                _local.TryRemove(entry.Key, out _);
            }
        }

        return await database.WriteAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM signature_nonces WHERE expires_at < @now", new { now }, transaction, cancellationToken: ct)), ct);
    }
}

/// <summary>Purges the replay cache every <c>Signatures:ReplayPurgeInterval</c>; a failed round is logged and retried.</summary>
internal sealed partial class ReplayCachePurger(ReplayCache cache, IOptions<SignaturesOptions> options, TimeProvider time,
    ILogger<ReplayCachePurger> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ReplayPurgeInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await cache.PurgeAsync(stoppingToken);
                }
                catch (Exception e) when (e is System.Data.Common.DbException or TimeoutException or InvalidOperationException)
                {
                    LogPurgeFailed(e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down, or a start that failed (a port in use): not a failure of this service.
        }
    }

    [LoggerMessage(EventId = 7001, Level = LogLevel.Warning, Message = "Purging expired signature nonces failed; retrying next round")]
    private partial void LogPurgeFailed(Exception exception);
}
