using System.Globalization;
using System.Text;

namespace AgentHub.Client.Signatures;

/// <summary>Serialization per RFC 8941 §4.1. Values are validated when created, so serialization cannot fail.</summary>
internal static class SfWriter
{
    public static void AppendList(StringBuilder builder, IReadOnlyList<SfMember> list)
    {
        for (var i = 0; i < list.Count; i++)
        {
            if (i > 0)
            {
                builder.Append(", ");
            }

            AppendMember(builder, list[i]);
        }
    }

    public static void AppendDictionary(StringBuilder builder, SfDictionary dictionary)
    {
        for (var i = 0; i < dictionary.Count; i++)
        {
            if (i > 0)
            {
                builder.Append(", ");
            }

            var (key, member) = dictionary[i];
            builder.Append(key);
            if (member is SfItem item && item.Value.IsTrue)
            {
                AppendParameters(builder, item.Parameters);
            }
            else
            {
                builder.Append('=');
                AppendMember(builder, member);
            }
        }
    }

    public static void AppendMember(StringBuilder builder, SfMember member)
    {
        switch (member)
        {
            case SfItem item:
                AppendItem(builder, item);
                break;
            case SfInnerList inner:
                AppendInnerList(builder, inner);
                break;
            default:
                throw new ArgumentException("Unknown Structured Field member type.", nameof(member));
        }
    }

    public static void AppendInnerList(StringBuilder builder, SfInnerList inner)
    {
        builder.Append('(');
        for (var i = 0; i < inner.Items.Count; i++)
        {
            if (i > 0)
            {
                builder.Append(' ');
            }

            AppendItem(builder, inner.Items[i]);
        }

        builder.Append(')');
        AppendParameters(builder, inner.Parameters);
    }

    public static void AppendItem(StringBuilder builder, SfItem item)
    {
        AppendBareItem(builder, item.Value);
        AppendParameters(builder, item.Parameters);
    }

    public static void AppendParameters(StringBuilder builder, SfParameters parameters)
    {
        foreach (var (key, value) in parameters)
        {
            builder.Append(';').Append(key);
            if (!value.IsTrue)
            {
                builder.Append('=');
                AppendBareItem(builder, value);
            }
        }
    }

    public static void AppendBareItem(StringBuilder builder, SfBareItem item)
    {
        switch (item.Kind)
        {
            case SfBareItemKind.Integer:
                builder.Append(item.IntegerValue.ToString(CultureInfo.InvariantCulture));
                break;
            case SfBareItemKind.Decimal:
                AppendDecimal(builder, item.DecimalValue);
                break;
            case SfBareItemKind.String:
                AppendString(builder, (string)item.Reference!);
                break;
            case SfBareItemKind.Token:
                builder.Append((string)item.Reference!);
                break;
            case SfBareItemKind.ByteSequence:
                builder.Append(':').Append(Convert.ToBase64String((byte[])item.Reference!)).Append(':');
                break;
            case SfBareItemKind.Boolean:
                builder.Append(item.IntegerValue != 0 ? "?1" : "?0");
                break;
            default:
                throw new ArgumentException("Unknown Structured Field item type.", nameof(item));
        }
    }

    public static void AppendString(StringBuilder builder, string value)
    {
        builder.Append('"');
        foreach (var c in value)
        {
            if (c is '"' or '\\')
            {
                builder.Append('\\');
            }

            builder.Append(c);
        }

        builder.Append('"');
    }

    private static void AppendDecimal(StringBuilder builder, decimal value)
    {
        // §4.1.5: at most three fractional digits (already rounded half-to-even), trailing zeros dropped, at least one.
        if (value < 0)
        {
            builder.Append('-');
            value = -value;
        }

        var integerPart = decimal.Truncate(value);
        var thousandths = (int)((value - integerPart) * 1000m);
        builder.Append(integerPart.ToString("0", CultureInfo.InvariantCulture)).Append('.');
        if (thousandths == 0)
        {
            builder.Append('0');
            return;
        }

        var digits = thousandths.ToString("D3", CultureInfo.InvariantCulture).TrimEnd('0');
        builder.Append(digits);
    }
}
