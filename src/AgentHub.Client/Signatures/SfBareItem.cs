using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace AgentHub.Client.Signatures;

/// <summary>The type of a Structured Field bare item (RFC 8941 §3.3).</summary>
[SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "The RFC 8941 type names.")]
public enum SfBareItemKind
{
    /// <summary>An Integer: at most 15 digits, −999,999,999,999,999 to 999,999,999,999,999.</summary>
    Integer,

    /// <summary>A Decimal: at most 12 integer and 3 fractional digits.</summary>
    Decimal,

    /// <summary>A String of printable ASCII characters.</summary>
    String,

    /// <summary>A Token (e.g. <c>sha-256</c>, <c>application/json</c>).</summary>
    Token,

    /// <summary>A Byte Sequence, serialized as <c>:base64:</c>.</summary>
    ByteSequence,

    /// <summary>A Boolean, serialized as <c>?1</c> or <c>?0</c>.</summary>
    Boolean,
}

/// <summary>
/// A Structured Field bare item (RFC 8941 §3.3): one of Integer, Decimal, String, Token, Byte Sequence or Boolean.
/// The factories validate the value, so every instance serializes.
/// </summary>
public readonly struct SfBareItem : IEquatable<SfBareItem>
{
    /// <summary>The largest Integer magnitude (15 digits).</summary>
    public const long MaxInteger = 999_999_999_999_999;

    private static readonly decimal MaxDecimalIntegerPart = 1_000_000_000_000m;

    private readonly object? _reference;
    private readonly long _integer;
    private readonly decimal _decimal;

    private SfBareItem(SfBareItemKind kind, object? reference, long integer, decimal value)
    {
        Kind = kind;
        _reference = reference;
        _integer = integer;
        _decimal = value;
    }

    /// <summary>The Boolean <c>true</c>, the implicit value of a parameter or dictionary member without <c>=</c>.</summary>
    public static SfBareItem True { get; } = new(SfBareItemKind.Boolean, null, 1, 0);

    /// <summary>What kind of value this is.</summary>
    public SfBareItemKind Kind { get; }

    /// <summary>An Integer; throws when out of the RFC 8941 range.</summary>
    [SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "The RFC 8941 type names.")]
    public static SfBareItem Integer(long value) =>
        value is >= -MaxInteger and <= MaxInteger
            ? new(SfBareItemKind.Integer, null, value, 0)
            : throw new ArgumentOutOfRangeException(nameof(value), value, "A Structured Field Integer has at most 15 digits.");

    /// <summary>A Decimal, rounded half-to-even to three fractional digits; throws when the integer part has more than 12 digits.</summary>
    [SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "The RFC 8941 type names.")]
    public static SfBareItem Decimal(decimal value)
    {
        var rounded = decimal.Round(value, 3, MidpointRounding.ToEven);
        return Math.Abs(decimal.Truncate(rounded)) < MaxDecimalIntegerPart
            ? new(SfBareItemKind.Decimal, null, 0, rounded)
            : throw new ArgumentOutOfRangeException(nameof(value), value, "A Structured Field Decimal has at most 12 integer digits.");
    }

    /// <summary>A String; throws when it holds characters outside printable ASCII (0x20–0x7E).</summary>
    [SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "The RFC 8941 type names.")]
    public static SfBareItem String(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        foreach (var c in value)
        {
            if (c is < ' ' or > '~')
            {
                throw new ArgumentException($"A Structured Field String holds printable ASCII only; found U+{(int)c:X4}.", nameof(value));
            }
        }

        return new(SfBareItemKind.String, value, 0, 0);
    }

    /// <summary>A Token; throws when <paramref name="value"/> is not a valid token.</summary>
    public static SfBareItem Token(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return SfSyntax.IsToken(value)
            ? new(SfBareItemKind.Token, value, 0, 0)
            : throw new ArgumentException($"'{value}' is not a Structured Field Token.", nameof(value));
    }

    /// <summary>A Byte Sequence over <paramref name="value"/> (not copied: do not change it afterwards).</summary>
    public static SfBareItem ByteSequence(byte[] value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new(SfBareItemKind.ByteSequence, value, 0, 0);
    }

    /// <summary>A Boolean.</summary>
    public static SfBareItem Boolean(bool value) => value ? True : new(SfBareItemKind.Boolean, null, 0, 0);

    /// <summary>The Integer value; throws when this is not an Integer.</summary>
    public long AsInteger() => Kind == SfBareItemKind.Integer ? _integer : throw WrongKind(SfBareItemKind.Integer);

    /// <summary>The Decimal value; throws when this is not a Decimal.</summary>
    public decimal AsDecimal() => Kind == SfBareItemKind.Decimal ? _decimal : throw WrongKind(SfBareItemKind.Decimal);

    /// <summary>The String value; throws when this is not a String.</summary>
    public string AsString() => Kind == SfBareItemKind.String ? (string)_reference! : throw WrongKind(SfBareItemKind.String);

    /// <summary>The Token value; throws when this is not a Token.</summary>
    public string AsToken() => Kind == SfBareItemKind.Token ? (string)_reference! : throw WrongKind(SfBareItemKind.Token);

    /// <summary>The bytes of a Byte Sequence; throws when this is not a Byte Sequence.</summary>
    public ReadOnlyMemory<byte> AsByteSequence() =>
        Kind == SfBareItemKind.ByteSequence ? (byte[])_reference! : throw WrongKind(SfBareItemKind.ByteSequence);

    /// <summary>The Boolean value; throws when this is not a Boolean.</summary>
    public bool AsBoolean() => Kind == SfBareItemKind.Boolean ? _integer != 0 : throw WrongKind(SfBareItemKind.Boolean);

    /// <summary>Whether this is the Boolean <c>true</c>.</summary>
    public bool IsTrue => Kind == SfBareItemKind.Boolean && _integer != 0;

    /// <summary>The value serialized per RFC 8941 §4.1.3.1, e.g. <c>"a\"b"</c>, <c>?1</c>, <c>:AQI=:</c>.</summary>
    public override string ToString()
    {
        var builder = new System.Text.StringBuilder();
        SfWriter.AppendBareItem(builder, this);
        return builder.ToString();
    }

    /// <inheritdoc/>
    public bool Equals(SfBareItem other) =>
        Kind == other.Kind && Kind switch
        {
            SfBareItemKind.Integer or SfBareItemKind.Boolean => _integer == other._integer,
            SfBareItemKind.Decimal => _decimal == other._decimal,
            SfBareItemKind.String or SfBareItemKind.Token => string.Equals((string)_reference!, (string)other._reference!, StringComparison.Ordinal),
            _ => ((byte[])_reference!).AsSpan().SequenceEqual((byte[])other._reference!),
        };

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is SfBareItem other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => Kind switch
    {
        SfBareItemKind.Integer or SfBareItemKind.Boolean => HashCode.Combine(Kind, _integer),
        SfBareItemKind.Decimal => HashCode.Combine(Kind, _decimal),
        SfBareItemKind.String or SfBareItemKind.Token => HashCode.Combine(Kind, StringComparer.Ordinal.GetHashCode((string)_reference!)),
        _ => HashCode.Combine(Kind, ((byte[])_reference!).Length),
    };

    /// <summary>Value equality.</summary>
    public static bool operator ==(SfBareItem left, SfBareItem right) => left.Equals(right);

    /// <summary>Value inequality.</summary>
    public static bool operator !=(SfBareItem left, SfBareItem right) => !left.Equals(right);

    internal static SfBareItem FromParsedString(string value) => new(SfBareItemKind.String, value, 0, 0);

    internal static SfBareItem FromParsedToken(string value) => new(SfBareItemKind.Token, value, 0, 0);

    internal static SfBareItem FromParsedDecimal(decimal value) => new(SfBareItemKind.Decimal, null, 0, value);

    internal decimal DecimalValue => _decimal;

    internal long IntegerValue => _integer;

    internal object? Reference => _reference;

    private InvalidOperationException WrongKind(SfBareItemKind wanted) =>
        new($"The Structured Field item is a {Kind}, not a {wanted}: {ToString()}.");

    internal static string Describe(SfBareItemKind kind) => kind switch
    {
        SfBareItemKind.ByteSequence => "Byte Sequence",
        _ => kind.ToString(),
    };

    internal static string Format(long value) => value.ToString(CultureInfo.InvariantCulture);
}
