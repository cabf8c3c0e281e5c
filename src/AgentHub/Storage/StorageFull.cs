using Microsoft.Data.Sqlite;
using Npgsql;

namespace AgentHub.Storage;

/// <summary>
/// Recognises a write refused because the database's disk is full: SQLite's SQLITE_FULL (the file system said ENOSPC,
/// or max_page_count was reached) and PostgreSQL's disk_full class (SQLSTATE 53100), wherever in the chain of causes
/// (an audit record that could not be written wraps the database's error). Such a request changed nothing and answers
/// 507 with Retry-After: the hub writes again by itself once space is freed.
/// </summary>
internal static partial class StorageFull
{
    private const int SqliteFull = 13;
    private const string PostgresDiskFull = "53100";

    public const string Title = "Storage full";

    public const string Detail = "The hub's storage is full, so nothing was changed. Retry once space has been freed.";

    private static readonly TimeSpan LogEvery = TimeSpan.FromMinutes(1);
    private static long _lastLogged = long.MinValue;
    private static long _unlogged;

    public static bool Is(Exception? exception) => Cause(exception) is not null;

    /// <summary>
    /// Logs a refusal for a full disk once a minute at most, with how many went unlogged since: every write fails
    /// while the disk is full, and a log line (with a stack trace) per request would only add to the problem. Names the
    /// error code, never the message.
    /// </summary>
    public static void Log(ILogger logger, Exception exception)
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastLogged);
        if (last != long.MinValue && now - last < (long)LogEvery.TotalMilliseconds)
        {
            Interlocked.Increment(ref _unlogged);
            return;
        }

        if (Interlocked.CompareExchange(ref _lastLogged, now, last) != last)
        {
            Interlocked.Increment(ref _unlogged);
            return;
        }

        LogFull(logger, Cause(exception) ?? "unknown", Interlocked.Exchange(ref _unlogged, 0));
    }

    private static string? Cause(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case SqliteException { SqliteErrorCode: SqliteFull }:
                    return "SQLite error 13 (SQLITE_FULL)";
                case PostgresException { SqlState: PostgresDiskFull }:
                    return "PostgreSQL SQLSTATE 53100 (disk_full)";
            }
        }

        return null;
    }

    [LoggerMessage(EventId = 1601, Level = LogLevel.Error,
        Message = "The database's storage is full ({Cause}): writes are refused with 507 until space is freed ({Unlogged} more refusals since the last report)")]
    private static partial void LogFull(ILogger logger, string cause, long unlogged);
}
