using System.Collections.Concurrent;

namespace AgentHub.Relay;

/// <summary>
/// Calls in flight per caller and per agent, in this instance. A call over either limit is refused at once (429),
/// not queued: a slow agent must not pile up the hub's connections.
/// </summary>
internal sealed class ConcurrencyGate
{
    private readonly ConcurrentDictionary<string, int> _inFlight = new(StringComparer.Ordinal);

    public bool TryEnter(string key, int limit)
    {
        while (true)
        {
            var current = _inFlight.GetOrAdd(key, 0);
            if (current >= limit)
            {
                return false;
            }

            if (_inFlight.TryUpdate(key, current + 1, current))
            {
                return true;
            }
        }
    }

    public void Exit(string key)
    {
        while (true)
        {
            var current = _inFlight[key];
            if (current == 1 ? _inFlight.TryRemove(new KeyValuePair<string, int>(key, 1)) : _inFlight.TryUpdate(key, current - 1, current))
            {
                return;
            }
        }
    }
}
