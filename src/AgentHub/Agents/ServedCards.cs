using System.Security.Cryptography;
using System.Text.Json;
using AgentHub.Client.Signatures;
using AgentHub.Identity;
using Microsoft.Extensions.Caching.Memory;

namespace AgentHub.Agents;

/// <summary>A hub card as served: its bytes and their strong ETag.</summary>
internal sealed record ServedCard(byte[] Bytes, string ETag);

/// <summary>
/// The hub cards (<see cref="HubCard"/>), signed by the hub: the original's <c>signatures</c> (which cannot cover the
/// rewritten card) are replaced by one ES256 signature with the hub's active key, <c>kid</c> as in the hub's JWKS and
/// <c>jku</c> pointing at it. ECDSA signatures are randomized, so a signed card is kept and served unchanged — same
/// bytes, same ETag — for as long as its agent version, card, signing key and hub URL stay the same (16 MiB of cards in
/// all, least used first out). The active key is read at most every 30 s, so a rotation through any instance re-signs
/// within that time; the retired key stays in the JWKS, so cards signed with it still verify meanwhile.
/// </summary>
internal sealed partial class ServedCards(IAgentStore store, SigningKeyStore keys, TimeProvider time, ILogger<ServedCards> logger) : IDisposable
{
    public const long CacheBytes = 16 * 1024 * 1024;
    private static readonly TimeSpan KeyCacheTime = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Unused = TimeSpan.FromMinutes(30);
    private readonly MemoryCache _cards = new(new MemoryCacheOptions { SizeLimit = CacheBytes });
    private readonly SemaphoreSlim _signing = new(1, 1);
    private readonly SemaphoreSlim _keyLock = new(1, 1);
    private ActiveKey? _key;

    /// <summary>The signed hub card of agent <paramref name="id"/> for clients reaching the hub at <paramref name="baseUrl"/>; null when there is no such agent.</summary>
    public async Task<ServedCard?> GetAsync(string id, string baseUrl, CancellationToken ct)
    {
        if (await store.GetCardStampAsync(id, ct) is not { } stamp)
        {
            return null;
        }

        var key = await ActiveKeyAsync(ct);
        var cacheKey = new CacheKey(id, stamp.Version, Convert.ToHexStringLower(stamp.CardSha256), key.Kid, baseUrl);
        if (_cards.TryGetValue(cacheKey, out ServedCard? cached))
        {
            return cached;
        }

        var original = await store.GetCardAsync(id, stamp.Version, ct);
        if (original is null)
        {
            return null; // deleted meanwhile
        }

        await _signing.WaitAsync(ct);
        try
        {
            // Two first fetches at once sign once: the second finds the first one's card.
            if (_cards.TryGetValue(cacheKey, out cached))
            {
                return cached;
            }

            var served = Sign(original, id, baseUrl, key);
            if (SHA256.HashData(original).AsSpan().SequenceEqual(stamp.CardSha256)) // else re-registered meanwhile: serve, do not keep
            {
                _cards.Set(cacheKey, served, new MemoryCacheEntryOptions { Size = served.Bytes.Length, SlidingExpiration = Unused });
            }

            return served;
        }
        finally
        {
            _signing.Release();
        }
    }

    private ServedCard Sign(byte[] original, string id, string baseUrl, ActiveKey key)
    {
        var card = HubCard.Rewrite(original, $"{baseUrl}/a2a/{id}");
        card.Remove("signatures");
        try
        {
            AgentCardSignatures.Sign(card, key.Key, key.Kid, jku: $"{baseUrl}/.well-known/jwks.json");
        }
        catch (JsonCanonicalizationException e)
        {
            LogUnsigned(logger, id, e.Message); // served without signatures: a wrong-typed member has no canonical form
        }

        var bytes = JsonSerializer.SerializeToUtf8Bytes(card, HubJsonContext.Default.JsonObject);
        return new ServedCard(bytes, HubCard.ETag(bytes));
    }

    private async ValueTask<ActiveKey> ActiveKeyAsync(CancellationToken ct)
    {
        if (Volatile.Read(ref _key) is { } current && current.Until > time.GetUtcNow())
        {
            return current;
        }

        await _keyLock.WaitAsync(ct);
        try
        {
            if (_key is { } fresh && fresh.Until > time.GetUtcNow())
            {
                return fresh;
            }

            var (kid, key) = await keys.GetActiveAsync(ct);
            // The previous key object may still be signing for a concurrent request: let it go to the GC, not Dispose.
            var active = new ActiveKey(kid, key, time.GetUtcNow() + KeyCacheTime);
            Volatile.Write(ref _key, active);
            return active;
        }
        finally
        {
            _keyLock.Release();
        }
    }

    public void Dispose()
    {
        _cards.Dispose();
        _signing.Dispose();
        _keyLock.Dispose();
        _key?.Key.Dispose();
    }

    [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "The hub card of agent {Agent} is served unsigned: {Reason}")]
    private static partial void LogUnsigned(ILogger logger, string agent, string reason);

    private sealed record ActiveKey(string Kid, ECDsa Key, DateTimeOffset Until);

    private sealed record CacheKey(string Agent, long Version, string CardSha256, string Kid, string BaseUrl);
}
