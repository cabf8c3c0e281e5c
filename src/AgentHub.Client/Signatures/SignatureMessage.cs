namespace AgentHub.Client.Signatures;

/// <summary>
/// The parts of an HTTP message that RFC 9421 signatures cover: a <see cref="SignatureRequest"/> or a
/// <see cref="SignatureResponse"/>. <see cref="Header"/> is asked for a lowercase field name and returns the
/// combined field value (RFC 9421 §2.1: each field line trimmed, lines joined with <c>", "</c>), or null when the
/// message has no such field; <see cref="CombineFieldLines"/> does the joining.
/// </summary>
/// <param name="Header">Field lookup by lowercase name.</param>
public abstract record SignatureMessage(Func<string, string?> Header)
{
    /// <summary>Combines field lines per RFC 9421 §2.1; null when there are none.</summary>
    public static string? CombineFieldLines(IEnumerable<string?>? lines)
    {
        if (lines is null)
        {
            return null;
        }

        string? single = null;
        System.Text.StringBuilder? builder = null;
        foreach (var line in lines)
        {
            var value = (line ?? "").Trim(' ', '\t');
            if (single is null)
            {
                single = value;
            }
            else
            {
                (builder ??= new System.Text.StringBuilder(single)).Append(", ").Append(value);
            }
        }

        return builder?.ToString() ?? single;
    }
}

/// <summary>A request as RFC 9421 sees it.</summary>
/// <param name="Method">The method, as sent (case-sensitive), e.g. <c>POST</c>.</param>
/// <param name="Authority">
/// The target authority (<c>host[:port]</c>); it is lowercased and a default port (443 for https, 80 for http) is
/// dropped when the signature base is built.
/// </param>
/// <param name="Path">The absolute path as sent on the wire (percent-encoded), e.g. <c>/a2a/echo</c>; empty means <c>/</c>.</param>
/// <param name="Query">The query including its leading <c>?</c>, as sent; null when the request has none.</param>
/// <param name="Header">Field lookup by lowercase name (see <see cref="SignatureMessage"/>).</param>
public sealed record SignatureRequest(string Method, string Authority, string Path, string? Query, Func<string, string?> Header)
    : SignatureMessage(Header)
{
    /// <summary>The URI scheme, <c>https</c> unless set.</summary>
    public string Scheme { get; init; } = "https";

    /// <summary>A request for <paramref name="method"/> and the absolute <paramref name="uri"/>.</summary>
    public static SignatureRequest FromUri(string method, Uri uri, Func<string, string?> header)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(uri);
        ArgumentNullException.ThrowIfNull(header);
        if (!uri.IsAbsoluteUri)
        {
            throw new ArgumentException($"The request URI '{uri}' must be absolute.", nameof(uri));
        }

        var query = uri.Query;
        return new SignatureRequest(method, uri.GetComponents(UriComponents.Host | UriComponents.Port, UriFormat.UriEscaped),
            uri.AbsolutePath, query.Length == 0 ? null : query, header)
        {
            Scheme = uri.Scheme,
        };
    }

    /// <summary>
    /// A view of <paramref name="request"/> (its absolute URI, <c>Host</c> header if set, and the fields of
    /// <c>request.Headers</c> and <c>request.Content.Headers</c>, read when the signature base is built).
    /// </summary>
    public static SignatureRequest From(HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var uri = request.RequestUri is { IsAbsoluteUri: true } absolute
            ? absolute
            : throw new InvalidOperationException("The request has no absolute RequestUri; set it (or the HttpClient's BaseAddress) before signing.");
        var message = FromUri(request.Method.Method, uri, name => HttpFields.Get(request.Headers, request.Content?.Headers, name));
        return request.Headers.Host is { Length: > 0 } host ? message with { Authority = host } : message;
    }
}

/// <summary>A response as RFC 9421 sees it.</summary>
/// <param name="Status">The three-digit status code.</param>
/// <param name="Header">Field lookup by lowercase name (see <see cref="SignatureMessage"/>).</param>
public sealed record SignatureResponse(int Status, Func<string, string?> Header) : SignatureMessage(Header)
{
    /// <summary>The request this responds to, for components with the <c>req</c> parameter (RFC 9421 §2.4).</summary>
    public SignatureRequest? Request { get; init; }

    /// <summary>A view of <paramref name="response"/> (status, <c>response.Headers</c> and <c>response.Content.Headers</c>).</summary>
    public static SignatureResponse From(HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return new SignatureResponse((int)response.StatusCode, name => HttpFields.Get(response.Headers, response.Content?.Headers, name))
        {
            Request = response.RequestMessage is { RequestUri.IsAbsoluteUri: true } request ? SignatureRequest.From(request) : null,
        };
    }
}

internal static class HttpFields
{
    public static string? Get(System.Net.Http.Headers.HttpHeaders headers, System.Net.Http.Headers.HttpHeaders? contentHeaders, string name)
    {
        var found = headers.NonValidated.TryGetValues(name, out var values);
        var contentFound = false;
        System.Net.Http.Headers.HeaderStringValues contentValues = default;
        if (contentHeaders is not null)
        {
            contentFound = contentHeaders.NonValidated.TryGetValues(name, out contentValues);
        }

        return (found, contentFound) switch
        {
            (false, false) => null,
            (true, false) => SignatureMessage.CombineFieldLines(values),
            (false, true) => SignatureMessage.CombineFieldLines(contentValues),
            _ => SignatureMessage.CombineFieldLines(values.Concat(contentValues)),
        };
    }
}
