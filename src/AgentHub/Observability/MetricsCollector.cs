using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace AgentHub.Observability;

/// <summary>
/// Listens to this hub's meter and keeps running totals in memory: a counter per label set, a histogram's bucket
/// counts and sum. Recording is lock-free and allocates only when a label set is seen for the first time.
/// Only the instruments of this hub's own <see cref="HubMetrics.Meter"/> are enabled, so two hubs in one process
/// (tests) never mix their numbers.
/// </summary>
internal sealed class MetricsCollector : IDisposable
{
    private readonly MeterListener _listener;

    public MetricsCollector(HubMetrics metrics)
    {
        Families = [.. metrics.Exported.Select(s => new MetricFamily(s))];
        var byInstrument = Families.ToDictionary(f => f.Spec.Instrument);
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (byInstrument.TryGetValue(instrument, out var family))
                {
                    listener.EnableMeasurementEvents(instrument, family);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((MetricFamily)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => ((MetricFamily)state!).Record(value, tags));
        _listener.Start();
    }

    public IReadOnlyList<MetricFamily> Families { get; }

    public void Dispose() => _listener.Dispose();
}

/// <summary>The aggregated series of one instrument.</summary>
internal sealed class MetricFamily
{
    /// <summary>Beyond this many label sets, new ones are folded into one <c>overflow</c> series instead of growing without bound.</summary>
    public const int MaxSeries = 2000;

    public const string OverflowValue = "overflow";

    private readonly ConcurrentDictionary<SeriesKey, Series> _series = new();
    private readonly SeriesKey _overflowKey;
    private int _count;

    public MetricFamily(MetricSpec spec)
    {
        if (spec.Labels.Count > MetricSpec.MaxLabels)
        {
            throw new ArgumentException($"{spec.Name}: at most {MetricSpec.MaxLabels} labels", nameof(spec));
        }

        Spec = spec;
        _overflowKey = new SeriesKey(
            spec.Labels.Count > 0 ? OverflowValue : null,
            spec.Labels.Count > 1 ? OverflowValue : null,
            spec.Labels.Count > 2 ? OverflowValue : null);
    }

    public MetricSpec Spec { get; }

    /// <summary>A snapshot of the series, in a stable order (by label values).</summary>
    public IReadOnlyList<(SeriesKey Key, Series Series)> Snapshot() =>
        [.. _series.Select(p => (p.Key, p.Value)).OrderBy(p => p.Key, SeriesKey.Order)];

    public void Record(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var series = Find(tags);
        if (Spec.Kind == MetricKind.Counter)
        {
            series.Add(value);
        }
        else
        {
            series.Observe(value);
        }
    }

    public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags) => Find(tags).Observe(value);

    private Series Find(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var key = KeyOf(tags);
        return _series.TryGetValue(key, out var series) ? series : Add(key);
    }

    private Series Add(SeriesKey key)
    {
        if (Interlocked.Increment(ref _count) > MaxSeries)
        {
            Interlocked.Decrement(ref _count);
            key = _overflowKey;
        }
        else if (_series.ContainsKey(key))
        {
            Interlocked.Decrement(ref _count); // another thread added it first
        }

        return _series.GetOrAdd(key, static (_, buckets) => new Series(buckets), Spec.Buckets);
    }

    // Tags are placed by label name, so the order a caller lists them in does not matter; unknown tags are ignored.
    private SeriesKey KeyOf(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        object? v0 = null, v1 = null, v2 = null;
        var labels = Spec.Labels;
        foreach (var (name, value) in tags)
        {
            for (var i = 0; i < labels.Count; i++)
            {
                if (string.Equals(labels[i], name, StringComparison.Ordinal))
                {
                    switch (i)
                    {
                        case 0: v0 = value; break;
                        case 1: v1 = value; break;
                        default: v2 = value; break;
                    }

                    break;
                }
            }
        }

        return new SeriesKey(v0, v1, v2);
    }
}

/// <summary>Label values of one series, by position in <see cref="MetricSpec.Labels"/>.</summary>
internal readonly record struct SeriesKey(object? V0, object? V1, object? V2)
{
    public static readonly IComparer<SeriesKey> Order = Comparer<SeriesKey>.Create((a, b) =>
    {
        var c = string.CompareOrdinal(Text(a.V0), Text(b.V0));
        c = c != 0 ? c : string.CompareOrdinal(Text(a.V1), Text(b.V1));
        return c != 0 ? c : string.CompareOrdinal(Text(a.V2), Text(b.V2));
    });

    public string this[int index] => Text(index switch { 0 => V0, 1 => V1, _ => V2 });

    public static string Text(object? value) => value switch
    {
        null => "",
        string s => s,
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}

/// <summary>
/// One series: a counter's value, or a histogram's per-bucket counts (the last one is +Inf) and sum. The count of a
/// histogram is the sum of its buckets, so <c>_count</c> always equals the <c>+Inf</c> bucket in a scrape.
/// </summary>
internal sealed class Series(double[]? bounds)
{
    private readonly long[] _buckets = bounds is null ? [] : new long[bounds.Length + 1];
    private long _value;
    private double _sum;

    public long Value => Interlocked.Read(ref _value);

    public double Sum => Volatile.Read(ref _sum);

    public void Add(long value) => Interlocked.Add(ref _value, value);

    public void Observe(double value)
    {
        var i = 0;
        while (i < bounds!.Length && value > bounds[i])
        {
            i++;
        }

        Interlocked.Increment(ref _buckets[i]);
        var sum = Volatile.Read(ref _sum);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref _sum, sum + value, sum);
            if (BitConverter.DoubleToInt64Bits(seen) == BitConverter.DoubleToInt64Bits(sum))
            {
                return;
            }

            sum = seen;
        }
    }

    /// <summary>Non-cumulative bucket counts, the last being the +Inf overflow.</summary>
    public long[] Buckets()
    {
        var copy = new long[_buckets.Length];
        for (var i = 0; i < copy.Length; i++)
        {
            copy[i] = Interlocked.Read(ref _buckets[i]);
        }

        return copy;
    }
}
