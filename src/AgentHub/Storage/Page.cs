namespace AgentHub.Storage;

/// <summary>One page of a keyset-paged list; <see cref="Next"/> is the cursor for the following page, or null.</summary>
internal sealed record Page<T>(IReadOnlyList<T> Items, string? Next)
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 200;

    public static Page<T> From(List<T> rows, int limit, Func<T, string> cursor) =>
        rows.Count > limit ? new Page<T>(rows[..limit], cursor(rows[limit - 1])) : new Page<T>(rows, null);
}

internal static class UnixTime
{
    public static long Ms(DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    public static DateTimeOffset From(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    public static DateTimeOffset? From(long? ms) => ms is { } v ? DateTimeOffset.FromUnixTimeMilliseconds(v) : null;
}
