using System.Text;

namespace AgentHub.Client.Signatures;

/// <summary>
/// Structured Field Values for HTTP (RFC 8941): strict parsing (§4.2) of Dictionaries, Lists and Items, and canonical
/// serialization (§4.1). Parse errors throw <see cref="StructuredFieldException"/>; pass the field name so its
/// message says which header was malformed.
/// </summary>
public static class StructuredFields
{
    /// <summary>Parses a Dictionary field value (e.g. <c>Signature-Input</c>, <c>Content-Digest</c>).</summary>
    /// <param name="value">The combined field value (field lines joined with <c>", "</c>).</param>
    /// <param name="fieldName">Used in error messages.</param>
    public static SfDictionary ParseDictionary(string value, string? fieldName = null)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new SfParser(value, fieldName).ParseDictionaryField();
    }

    /// <summary>Parses a List field value.</summary>
    /// <param name="value">The combined field value.</param>
    /// <param name="fieldName">Used in error messages.</param>
    public static IReadOnlyList<SfMember> ParseList(string value, string? fieldName = null)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new SfParser(value, fieldName).ParseListField();
    }

    /// <summary>Parses an Item field value.</summary>
    /// <param name="value">The field value.</param>
    /// <param name="fieldName">Used in error messages.</param>
    public static SfItem ParseItem(string value, string? fieldName = null)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new SfParser(value, fieldName).ParseItemField();
    }

    /// <summary>Serializes a Dictionary (§4.1.2).</summary>
    public static string Serialize(SfDictionary dictionary)
    {
        ArgumentNullException.ThrowIfNull(dictionary);
        var builder = new StringBuilder();
        SfWriter.AppendDictionary(builder, dictionary);
        return builder.ToString();
    }

    /// <summary>Serializes a List (§4.1.1).</summary>
    public static string Serialize(IReadOnlyList<SfMember> list)
    {
        ArgumentNullException.ThrowIfNull(list);
        var builder = new StringBuilder();
        SfWriter.AppendList(builder, list);
        return builder.ToString();
    }

    /// <summary>Serializes an Item or an Inner List (§4.1.3, §4.1.1.1).</summary>
    public static string Serialize(SfMember member)
    {
        ArgumentNullException.ThrowIfNull(member);
        var builder = new StringBuilder();
        SfWriter.AppendMember(builder, member);
        return builder.ToString();
    }
}
