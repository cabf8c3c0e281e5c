using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace AgentHub.Client.Signatures;

/// <summary>
/// Builds the RFC 9421 signature base (§2.5): one line <c>"identifier": value</c> per covered component, then
/// <c>"@signature-params": </c> and the covered components with their parameters serialized as a Structured Field
/// Inner List. Supported components: <c>@method</c>, <c>@target-uri</c>, <c>@authority</c>, <c>@scheme</c>,
/// <c>@request-target</c>, <c>@path</c>, <c>@query</c>, <c>@status</c> and fields by lowercase name; the only
/// supported component parameter is <c>req</c> (request components in a response). Others (<c>sf</c>, <c>key</c>,
/// <c>bs</c>, <c>tr</c>, <c>@query-param</c>) are refused as unsupported.
/// </summary>
public static class SignatureBase
{
    /// <summary>The identifier of the signature parameters line.</summary>
    public const string SignatureParamsIdentifier = "@signature-params";

    private const int MaxComponents = 100;

    /// <summary>The signature base of <paramref name="message"/> for <paramref name="signatureParams"/>.</summary>
    /// <param name="message">The request or response.</param>
    /// <param name="signatureParams">The covered components (Strings) with the signature parameters, as in <c>Signature-Input</c>.</param>
    /// <exception cref="InvalidOperationException">A component is missing, malformed or unsupported; the message says which.</exception>
    public static string Create(SignatureMessage message, SfInnerList signatureParams) =>
        TryCreate(message, signatureParams, out var signatureBase, out _, out var error)
            ? signatureBase
            : throw new InvalidOperationException(error);

    internal static bool TryCreate(SignatureMessage message, SfInnerList signatureParams, [NotNullWhen(true)] out string? signatureBase,
        out SignatureFailure failure, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(signatureParams);
        signatureBase = null;
        if (signatureParams.Items.Count > MaxComponents)
        {
            failure = SignatureFailure.Malformed;
            error = $"A signature may cover at most {MaxComponents} components.";
            return false;
        }

        var builder = new StringBuilder(256);
        var seen = new List<string>(signatureParams.Items.Count);
        foreach (var identifier in signatureParams.Items)
        {
            if (!TryGetValue(message, identifier, out var value, out failure, out error))
            {
                return false;
            }

            var start = builder.Length;
            SfWriter.AppendItem(builder, identifier);
            var serialized = builder.ToString(start, builder.Length - start);
            if (seen.Contains(serialized, StringComparer.Ordinal))
            {
                failure = SignatureFailure.Malformed;
                error = $"The component {serialized} is covered twice.";
                return false;
            }

            seen.Add(serialized);
            builder.Append(": ").Append(value).Append('\n');
        }

        builder.Append('"').Append(SignatureParamsIdentifier).Append("\": ");
        SfWriter.AppendInnerList(builder, signatureParams);
        signatureBase = builder.ToString();
        failure = SignatureFailure.None;
        error = null;
        return true;
    }

    private static bool TryGetValue(SignatureMessage message, SfItem identifier, [NotNullWhen(true)] out string? value,
        out SignatureFailure failure, [NotNullWhen(false)] out string? error)
    {
        value = null;
        failure = SignatureFailure.Malformed;
        if (identifier.Value.Kind != SfBareItemKind.String)
        {
            error = $"Component identifiers are Strings; found {identifier}.";
            return false;
        }

        var name = identifier.Value.AsString();
        var target = message;
        foreach (var (key, parameter) in identifier.Parameters)
        {
            if (key != "req" || !parameter.IsTrue)
            {
                error = $"The component parameter ';{key}' (on \"{name}\") is not supported.";
                return false;
            }

            if (message is not SignatureResponse response)
            {
                error = $"\"{name}\";req refers to the request of a response; this message is a request.";
                return false;
            }

            if (response.Request is not { } request)
            {
                failure = SignatureFailure.MissingComponent;
                error = $"\"{name}\";req needs the request this response answers, which was not given.";
                return false;
            }

            target = request;
        }

        if (name.Length == 0)
        {
            error = "A component identifier is empty.";
            return false;
        }

        if (name[0] == '@')
        {
            if (!TryDerive(target, name, out value, out failure, out error))
            {
                return false;
            }
        }
        else if (!TryField(target, name, out value, out failure, out error))
        {
            return false;
        }

        foreach (var c in value)
        {
            if (c is '\r' or '\n' or '\0' or > '\x7f')
            {
                value = null;
                failure = SignatureFailure.Malformed;
                error = $"The value of \"{name}\" contains a line break, NUL or non-ASCII character.";
                return false;
            }
        }

        return true;
    }

    private static bool TryField(SignatureMessage message, string name, [NotNullWhen(true)] out string? value, out SignatureFailure failure,
        [NotNullWhen(false)] out string? error)
    {
        foreach (var c in name)
        {
            if (!SfSyntax.IsTChar(c) || c is >= 'A' and <= 'Z')
            {
                value = null;
                failure = SignatureFailure.Malformed;
                error = $"\"{name}\" is not a lowercase field name.";
                return false;
            }
        }

        value = message.Header(name);
        if (value is null)
        {
            failure = SignatureFailure.MissingComponent;
            error = $"The covered field '{name}' is not in the message.";
            return false;
        }

        failure = SignatureFailure.None;
        error = null;
        return true;
    }

    private static bool TryDerive(SignatureMessage message, string name, [NotNullWhen(true)] out string? value, out SignatureFailure failure,
        [NotNullWhen(false)] out string? error)
    {
        value = null;
        failure = SignatureFailure.Malformed;
        error = null;
        if (name == "@status")
        {
            if (message is not SignatureResponse response)
            {
                error = "\"@status\" applies to responses only.";
                return false;
            }

            if (response.Status is < 100 or > 999)
            {
                error = $"The status {response.Status} is not a three-digit code.";
                return false;
            }

            value = response.Status.ToString(CultureInfo.InvariantCulture);
        }
        else if (message is SignatureRequest request)
        {
            value = name switch
            {
                "@method" => request.Method,
                "@target-uri" => Lower(request.Scheme) + "://" + Authority(request) + PathOf(request) + request.Query,
                "@authority" => Authority(request),
                "@scheme" => Lower(request.Scheme),
                "@request-target" => PathOf(request) + request.Query,
                "@path" => PathOf(request),
                "@query" => request.Query ?? "?",
                _ => null,
            };

            if (value is null)
            {
                error = name switch
                {
                    SignatureParamsIdentifier => "\"@signature-params\" cannot be a covered component.",
                    "@query-param" => "The component \"@query-param\" is not supported.",
                    _ => $"\"{name}\" is not a known derived component.",
                };
                return false;
            }
        }
        else
        {
            error = name is "@method" or "@target-uri" or "@authority" or "@scheme" or "@request-target" or "@path" or "@query"
                ? $"\"{name}\" refers to a request; in a response it needs the 'req' parameter."
                : $"\"{name}\" is not a known derived component.";
            return false;
        }

        failure = SignatureFailure.None;
        return true;
    }

    private static string PathOf(SignatureRequest request) => request.Path.Length == 0 ? "/" : request.Path;

    /// <summary>RFC 9110 §4.2.3 normalisation: lowercase host, default port dropped.</summary>
    internal static string Authority(SignatureRequest request)
    {
        var authority = Lower(request.Authority);
        var scheme = Lower(request.Scheme);
        if ((scheme == "https" && authority.EndsWith(":443", StringComparison.Ordinal))
            || (scheme == "http" && authority.EndsWith(":80", StringComparison.Ordinal)))
        {
            authority = authority[..authority.LastIndexOf(':')];
        }

        return authority;
    }

    internal static string Lower(string value)
    {
        foreach (var c in value)
        {
            if (c is >= 'A' and <= 'Z')
            {
                return string.Create(value.Length, value, static (span, source) =>
                {
                    for (var i = 0; i < source.Length; i++)
                    {
                        var ch = source[i];
                        span[i] = ch is >= 'A' and <= 'Z' ? (char)(ch + 32) : ch;
                    }
                });
            }
        }

        return value;
    }
}
