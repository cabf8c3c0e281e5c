using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AgentHub.Client.Signatures;

/// <summary>
/// The JSON Canonicalization Scheme (RFC 8785): no whitespace, object members sorted by their names' UTF-16 code
/// units, strings escaped as ECMAScript's <c>JSON.stringify</c> does, numbers written as ECMAScript's
/// <c>Number.prototype.toString</c> writes an IEEE 754 double, output in UTF-8.
/// </summary>
public static class Jcs
{
    /// <summary>The canonical UTF-8 bytes of <paramref name="node"/> (a JSON <c>null</c> when it is null).</summary>
    /// <exception cref="JsonCanonicalizationException">
    /// A number is not finite (NaN or ±Infinity, e.g. <c>1e400</c>), or a string holds an unpaired surrogate: RFC 8785
    /// has no canonical form for either.
    /// </exception>
    public static byte[] Canonicalize(JsonNode? node)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        Write(buffer, node, new StringBuilder());
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// <paramref name="value"/> as ECMAScript's <c>Number.prototype.toString()</c> writes it (RFC 8785 §3.2.2.3):
    /// the shortest digits that read back as the same double, plain notation from 1e-6 up to 1e21, exponent
    /// notation (<c>1e+21</c>, <c>5e-324</c>) outside it, and <c>0</c> for negative zero.
    /// </summary>
    /// <exception cref="JsonCanonicalizationException"><paramref name="value"/> is NaN or infinite.</exception>
    public static string FormatNumber(double value)
    {
        if (!double.IsFinite(value))
        {
            throw new JsonCanonicalizationException($"{value.ToString(CultureInfo.InvariantCulture)} has no JSON form (RFC 8785 §3.2.2.3).");
        }

        if (value == 0)
        {
            return "0"; // and -0
        }

        // .NET writes the shortest round-trip digits ("R"); ECMAScript chooses the same digits and only lays them out
        // differently. Read digits and decimal exponent back, then apply ECMA-262 Number::toString.
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        var negative = text[0] == '-';
        if (negative)
        {
            text = text[1..];
        }

        var exponent = 0;
        var e = text.IndexOf('E', StringComparison.Ordinal);
        if (e >= 0)
        {
            exponent = int.Parse(text.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            text = text[..e];
        }

        var dot = text.IndexOf('.', StringComparison.Ordinal);
        var integerDigits = dot < 0 ? text.Length : dot;
        var digits = dot < 0 ? text : string.Concat(text.AsSpan(0, dot), text.AsSpan(dot + 1));
        var leading = 0;
        while (leading < digits.Length - 1 && digits[leading] == '0')
        {
            leading++;
        }

        digits = digits[leading..].TrimEnd('0');
        var k = digits.Length;                        // number of significant digits
        var n = integerDigits - leading + exponent;   // value = 0.<digits> × 10^n

        var result = new StringBuilder(32);
        if (negative)
        {
            result.Append('-');
        }

        if (k <= n && n <= 21)
        {
            result.Append(digits).Append('0', n - k);
        }
        else if (0 < n && n <= 21)
        {
            result.Append(digits, 0, n).Append('.').Append(digits, n, k - n);
        }
        else if (-6 < n && n <= 0)
        {
            result.Append("0.").Append('0', -n).Append(digits);
        }
        else
        {
            result.Append(digits[0]);
            if (k > 1)
            {
                result.Append('.').Append(digits, 1, k - 1);
            }

            result.Append('e').Append(n - 1 < 0 ? '-' : '+').Append(Math.Abs(n - 1).ToString(CultureInfo.InvariantCulture));
        }

        return result.ToString();
    }

    private static void Write(ArrayBufferWriter<byte> output, JsonNode? node, StringBuilder scratch)
    {
        switch (node)
        {
            case null:
                Ascii(output, "null");
                break;
            case JsonObject obj:
                Ascii(output, "{");
                var first = true;
                foreach (var (name, value) in obj.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    if (!first)
                    {
                        Ascii(output, ",");
                    }

                    first = false;
                    WriteString(output, name, scratch);
                    Ascii(output, ":");
                    Write(output, value, scratch);
                }

                Ascii(output, "}");
                break;
            case JsonArray array:
                Ascii(output, "[");
                for (var i = 0; i < array.Count; i++)
                {
                    if (i > 0)
                    {
                        Ascii(output, ",");
                    }

                    Write(output, array[i], scratch);
                }

                Ascii(output, "]");
                break;
            case JsonValue value:
                WriteValue(output, value, scratch);
                break;
        }
    }

    private static void WriteValue(ArrayBufferWriter<byte> output, JsonValue value, StringBuilder scratch)
    {
        switch (value.GetValueKind())
        {
            case JsonValueKind.Null:
                Ascii(output, "null");
                break;
            case JsonValueKind.True:
                Ascii(output, "true");
                break;
            case JsonValueKind.False:
                Ascii(output, "false");
                break;
            case JsonValueKind.Number:
                // The JSON text of the number, read as a double the way JSON.parse reads it (correctly rounded).
                Ascii(output, FormatNumber(double.Parse(value.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture)));
                break;
            case JsonValueKind.String:
                WriteString(output, StringOf(value), scratch);
                break;
            default:
                throw new JsonCanonicalizationException($"Unexpected JSON value kind {value.GetValueKind()}.");
        }
    }

    private static string StringOf(JsonValue value)
    {
        try
        {
            return value.TryGetValue<string>(out var s) ? s : JsonSerializer.Deserialize<string>(value.ToJsonString(), JcsJsonContext.Default.String)!;
        }
        catch (Exception e) when (e is InvalidOperationException or JsonException)
        {
            throw new JsonCanonicalizationException("A string is not valid UTF-16 (an unpaired surrogate?): RFC 8785 cannot canonicalize it.", e);
        }
    }

    private static void WriteString(ArrayBufferWriter<byte> output, string text, StringBuilder scratch)
    {
        scratch.Clear().Append('"');
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            switch (c)
            {
                case '"':
                    scratch.Append("\\\"");
                    break;
                case '\\':
                    scratch.Append("\\\\");
                    break;
                case '\b':
                    scratch.Append("\\b");
                    break;
                case '\f':
                    scratch.Append("\\f");
                    break;
                case '\n':
                    scratch.Append("\\n");
                    break;
                case '\r':
                    scratch.Append("\\r");
                    break;
                case '\t':
                    scratch.Append("\\t");
                    break;
                default:
                    if (c < 0x20)
                    {
                        scratch.Append("\\u00").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    }
                    else if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                    {
                        scratch.Append(c).Append(text[++i]);
                    }
                    else if (char.IsSurrogate(c))
                    {
                        throw new JsonCanonicalizationException(
                            $"A string holds an unpaired surrogate (U+{(int)c:X4}): RFC 8785 cannot canonicalize it.");
                    }
                    else
                    {
                        scratch.Append(c);
                    }

                    break;
            }
        }

        scratch.Append('"');
        var escaped = scratch.ToString();
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(escaped.Length));
        output.Advance(Encoding.UTF8.GetBytes(escaped, span));
    }

    private static void Ascii(ArrayBufferWriter<byte> output, string text)
    {
        var span = output.GetSpan(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            span[i] = (byte)text[i];
        }

        output.Advance(text.Length);
    }
}

/// <summary>A JSON value RFC 8785 has no canonical form for: a non-finite number or an unpaired surrogate.</summary>
public sealed class JsonCanonicalizationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public JsonCanonicalizationException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public JsonCanonicalizationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public JsonCanonicalizationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class JcsJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
