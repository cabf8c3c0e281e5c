using System.Collections.Frozen;
using System.Text.Json;

namespace AgentHub.Client.Signatures;

/// <summary>
/// The hub's public keys, fetched from its JWKS (<c>/.well-known/jwks.json</c>) and cached. The set is fetched on
/// first use and again after <see cref="MaxAge"/>; an unknown kid causes a refetch at most once per
/// <see cref="MinRefetchInterval"/>, so a rotated-in key is found quickly and unknown kids cannot make it hammer the
/// hub. Keys other than EC P-256 signature keys are skipped. Thread-safe.
/// </summary>
public sealed class HubJwks : IDisposable
{
    /// <summary>Where the hub publishes its JWKS.</summary>
    public const string WellKnownPath = "/.well-known/jwks.json";

    /// <summary>The least time between two fetches caused by unknown kids (30 s).</summary>
    public static readonly TimeSpan MinRefetchInterval = TimeSpan.FromSeconds(30);

    private const int MaxJwksBytes = 1024 * 1024;
    private readonly HttpClient _http;
    private readonly Uri _uri;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private FrozenDictionary<string, SignatureKey>? _keys;
    private long _fetchedAtTicks;
    private long _attemptedAtTicks = DateTimeOffset.MinValue.UtcTicks;

    /// <summary>Keys from <paramref name="jwksUri"/> (absolute, or relative to the client's BaseAddress).</summary>
    /// <param name="http">The client to fetch with (not disposed here).</param>
    /// <param name="jwksUri">The JWKS address, e.g. <c>https://hub.example/.well-known/jwks.json</c>.</param>
    /// <param name="timeProvider">The clock (default: system).</param>
    public HubJwks(HttpClient http, Uri jwksUri, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(jwksUri);
        _http = http;
        _uri = jwksUri;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>How long a fetched set is used before it is fetched again (default 10 minutes); a failed refetch keeps the old set.</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The kids of the cached set (empty before the first fetch).</summary>
    public IReadOnlyCollection<string> Kids => _keys?.Keys ?? (IReadOnlyCollection<string>)[];

    /// <summary>The key for <paramref name="kid"/> if it is in the cached set; never fetches.</summary>
    public SignatureKey? TryGetCachedKey(string kid) => _keys is { } keys && keys.TryGetValue(kid, out var key) ? key : null;

    /// <summary>The key for <paramref name="kid"/>, fetching the set when needed; null when the hub does not publish it.</summary>
    /// <exception cref="HttpRequestException">The set could not be fetched and no cached set answers.</exception>
    /// <exception cref="JsonException">The hub's answer is not a JWKS.</exception>
    public async ValueTask<SignatureKey?> GetKeyAsync(string kid, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(kid);
        await EnsureFreshAsync(cancellationToken).ConfigureAwait(false);
        if (TryGetCachedKey(kid) is { } key)
        {
            return key;
        }

        await RefetchForUnknownKidAsync(cancellationToken).ConfigureAwait(false);
        return TryGetCachedKey(kid);
    }

    /// <summary>Fetches the set now.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken = default)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await FetchAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Loads the set if it was never fetched, or refetches it when older than <see cref="MaxAge"/> (keeping the old one on failure).</summary>
    internal async ValueTask EnsureFreshAsync(CancellationToken cancellationToken)
    {
        if (_keys is not null && Since(Volatile.Read(ref _fetchedAtTicks)) < MaxAge)
        {
            return;
        }

        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_keys is null)
            {
                await FetchAsync(cancellationToken).ConfigureAwait(false);
            }
            else if (Since(Volatile.Read(ref _fetchedAtTicks)) >= MaxAge && Since(Volatile.Read(ref _attemptedAtTicks)) >= MinRefetchInterval)
            {
                try
                {
                    await FetchAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is HttpRequestException or JsonException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    // The cached keys still verify; the next attempt comes after MinRefetchInterval.
                }
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Refetches after an unknown kid unless a fetch happened within <see cref="MinRefetchInterval"/>; true when it fetched.</summary>
    internal async ValueTask<bool> RefetchForUnknownKidAsync(CancellationToken cancellationToken)
    {
        if (Since(Volatile.Read(ref _attemptedAtTicks)) < MinRefetchInterval)
        {
            return false;
        }

        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Since(Volatile.Read(ref _attemptedAtTicks)) < MinRefetchInterval)
            {
                return false;
            }

            await FetchAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task FetchAsync(CancellationToken cancellationToken)
    {
        Volatile.Write(ref _attemptedAtTicks, _time.GetUtcNow().UtcTicks);
        using var response = await _http.GetAsync(_uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        if (response.Content.Headers.ContentLength > MaxJwksBytes)
        {
            throw new HttpRequestException($"The JWKS at {_uri} is larger than {MaxJwksBytes} bytes.");
        }

        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > MaxJwksBytes)
                {
                    throw new HttpRequestException($"The JWKS at {_uri} is larger than {MaxJwksBytes} bytes.");
                }

                buffer.Write(chunk, 0, read);
            }

            _keys = Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
            Volatile.Write(ref _fetchedAtTicks, _time.GetUtcNow().UtcTicks);
        }
    }

    private TimeSpan Since(long ticks) => TimeSpan.FromTicks(_time.GetUtcNow().UtcTicks - ticks);

    private static FrozenDictionary<string, SignatureKey> Parse(ReadOnlyMemory<byte> json)
    {
        using var document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Object
            || !document.RootElement.TryGetProperty("keys", out var keys) || keys.ValueKind != JsonValueKind.Array)
        {
            throw new JsonException("The JWKS has no \"keys\" array.");
        }

        var result = new Dictionary<string, SignatureKey>(StringComparer.Ordinal);
        foreach (var jwk in keys.EnumerateArray())
        {
            try
            {
                var key = SignatureKey.FromJwk(jwk);
                if (!result.TryAdd(key.KeyId, key))
                {
                    key.Dispose();
                }
            }
            catch (ArgumentException)
            {
                // Not an EC P-256 signature key with a kid (another key type, or one for encryption): not ours to use.
            }
        }

        // Keys of a previous set are left to the GC, not disposed: a verification may still be using them.
        return result.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _lock.Dispose();
        if (_keys is { } keys)
        {
            foreach (var key in keys.Values)
            {
                key.Dispose();
            }
        }
    }
}
