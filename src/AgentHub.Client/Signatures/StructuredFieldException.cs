namespace AgentHub.Client.Signatures;

/// <summary>
/// A Structured Field value (RFC 8941) is malformed. The message names the field, what was expected and the
/// offset in the value where parsing stopped, e.g.
/// <c>Signature-Input: expected ')' or a space after an item of the inner list in member 'sig1' at offset 21</c>.
/// </summary>
public sealed class StructuredFieldException : FormatException
{
    /// <summary>Creates the exception for <paramref name="fieldName"/> with the offset where parsing failed.</summary>
    public StructuredFieldException(string? fieldName, int offset, string message)
        : base(Describe(fieldName, offset, message))
    {
        FieldName = fieldName;
        Offset = offset;
    }

    /// <summary>Creates an exception with a message only.</summary>
    public StructuredFieldException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    public StructuredFieldException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an empty exception.</summary>
    public StructuredFieldException()
    {
    }

    /// <summary>The field being parsed (e.g. <c>Signature-Input</c>), when the caller named it.</summary>
    public string? FieldName { get; }

    /// <summary>Offset (in characters) into the field value where parsing failed; -1 when unknown.</summary>
    public int Offset { get; } = -1;

    private static string Describe(string? fieldName, int offset, string message) =>
        fieldName is null ? $"{message} at offset {offset}" : $"{fieldName}: {message} at offset {offset}";
}
