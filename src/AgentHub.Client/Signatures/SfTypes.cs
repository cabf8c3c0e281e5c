using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace AgentHub.Client.Signatures;

/// <summary>A member of a Structured Field List or Dictionary: an <see cref="SfItem"/> or an <see cref="SfInnerList"/>.</summary>
public abstract class SfMember
{
    private protected SfMember(SfParameters? parameters) => Parameters = parameters ?? SfParameters.Empty;

    /// <summary>The member's parameters (empty when it has none).</summary>
    public SfParameters Parameters { get; }

    /// <summary>The member serialized per RFC 8941 §4.1.</summary>
    public override string ToString()
    {
        var builder = new System.Text.StringBuilder();
        SfWriter.AppendMember(builder, this);
        return builder.ToString();
    }
}

/// <summary>A Structured Field Item (RFC 8941 §3.3): a bare item with parameters.</summary>
public sealed class SfItem : SfMember
{
    /// <summary>Creates an item.</summary>
    public SfItem(SfBareItem value, SfParameters? parameters = null)
        : base(parameters) => Value = value;

    /// <summary>The bare item.</summary>
    public SfBareItem Value { get; }
}

/// <summary>A Structured Field Inner List (RFC 8941 §3.1.1): items in parentheses, with parameters.</summary>
public sealed class SfInnerList : SfMember
{
    /// <summary>Creates an inner list.</summary>
    public SfInnerList(IReadOnlyList<SfItem> items, SfParameters? parameters = null)
        : base(parameters)
    {
        ArgumentNullException.ThrowIfNull(items);
        Items = items;
    }

    /// <summary>The items, in order.</summary>
    public IReadOnlyList<SfItem> Items { get; }
}

/// <summary>
/// Ordered Structured Field parameters (RFC 8941 §3.1.2): unique keys, each with a bare item. A parameter written
/// without a value (<c>;req</c>) has the value <see cref="SfBareItem.True"/>.
/// </summary>
public sealed class SfParameters : IReadOnlyList<KeyValuePair<string, SfBareItem>>
{
    private readonly KeyValuePair<string, SfBareItem>[] _entries;

    /// <summary>Creates parameters; keys are validated, and a repeated key keeps its first position and its last value.</summary>
    public SfParameters(IEnumerable<KeyValuePair<string, SfBareItem>> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var list = new List<KeyValuePair<string, SfBareItem>>();
        foreach (var (key, value) in parameters)
        {
            SfSyntax.ThrowIfNotKey(key, nameof(parameters));
            Set(list, key, value);
        }

        _entries = [.. list];
    }

    private SfParameters(KeyValuePair<string, SfBareItem>[] entries) => _entries = entries;

    /// <summary>No parameters.</summary>
    public static SfParameters Empty { get; } = new([]);

    /// <inheritdoc/>
    public int Count => _entries.Length;

    /// <inheritdoc/>
    public KeyValuePair<string, SfBareItem> this[int index] => _entries[index];

    /// <summary>The value of parameter <paramref name="key"/>, if present.</summary>
    public bool TryGetValue(string key, out SfBareItem value)
    {
        foreach (var entry in _entries)
        {
            if (string.Equals(entry.Key, key, StringComparison.Ordinal))
            {
                value = entry.Value;
                return true;
            }
        }

        value = default;
        return false;
    }

    /// <summary>Whether parameter <paramref name="key"/> is present.</summary>
    public bool ContainsKey(string key) => TryGetValue(key, out _);

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, SfBareItem>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, SfBareItem>>)_entries).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal static SfParameters FromParsed(List<KeyValuePair<string, SfBareItem>>? list) =>
        list is null or { Count: 0 } ? Empty : new([.. list]);

    internal static void Set(List<KeyValuePair<string, SfBareItem>> list, string key, SfBareItem value)
    {
        for (var i = 0; i < list.Count; i++)
        {
            if (string.Equals(list[i].Key, key, StringComparison.Ordinal))
            {
                list[i] = new(key, value);
                return;
            }
        }

        list.Add(new(key, value));
    }
}

/// <summary>
/// A Structured Field Dictionary (RFC 8941 §3.2): ordered members with unique keys. A repeated key keeps its first
/// position and its last value.
/// </summary>
public sealed class SfDictionary : IReadOnlyList<KeyValuePair<string, SfMember>>
{
    private const int IndexThreshold = 8;
    private readonly List<KeyValuePair<string, SfMember>> _entries;
    private Dictionary<string, int>? _index;

    /// <summary>Creates a dictionary; keys are validated.</summary>
    public SfDictionary(IEnumerable<KeyValuePair<string, SfMember>> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        _entries = [];
        foreach (var (key, member) in members)
        {
            SfSyntax.ThrowIfNotKey(key, nameof(members));
            ArgumentNullException.ThrowIfNull(member, nameof(members));
            Set(key, member);
        }
    }

    internal SfDictionary() => _entries = [];

    /// <inheritdoc/>
    public int Count => _entries.Count;

    /// <inheritdoc/>
    public KeyValuePair<string, SfMember> this[int index] => _entries[index];

    /// <summary>The keys, in order.</summary>
    public IEnumerable<string> Keys => _entries.Select(e => e.Key);

    /// <summary>The member named <paramref name="key"/>, if present.</summary>
    public bool TryGetValue(string key, [NotNullWhen(true)] out SfMember? member)
    {
        var i = IndexOf(key);
        member = i >= 0 ? _entries[i].Value : null;
        return member is not null;
    }

    /// <summary>Whether a member named <paramref name="key"/> is present.</summary>
    public bool ContainsKey(string key) => IndexOf(key) >= 0;

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, SfMember>> GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal void Set(string key, SfMember member)
    {
        var i = IndexOf(key);
        if (i >= 0)
        {
            _entries[i] = new(key, member);
            return;
        }

        _entries.Add(new(key, member));
        if (_index is not null)
        {
            _index[key] = _entries.Count - 1;
        }
        else if (_entries.Count > IndexThreshold)
        {
            // Large (possibly hostile) dictionaries get a hash index so parsing stays linear.
            _index = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var j = 0; j < _entries.Count; j++)
            {
                _index[_entries[j].Key] = j;
            }
        }
    }

    private int IndexOf(string key)
    {
        if (_index is not null)
        {
            return _index.TryGetValue(key, out var found) ? found : -1;
        }

        for (var i = 0; i < _entries.Count; i++)
        {
            if (string.Equals(_entries[i].Key, key, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
