using System.Net.Http.Headers;

namespace AgentHub.Client.Signatures;

/// <summary>
/// Signs an <see cref="HttpRequestMessage"/> in place: sets <c>Content-Digest</c> (sha-256 of the content) when it is
/// covered and absent, then adds <c>Signature-Input</c> and <c>Signature</c>. A signature with the same label
/// already on the request (a retry) is replaced; signatures with other labels are kept. A request without content is
/// signed without <c>content-type</c> and <c>content-digest</c>, which it cannot have.
/// </summary>
public static class Signature
{
    /// <summary>Signs <paramref name="request"/>, buffering its content to compute the digest.</summary>
    /// <exception cref="InvalidOperationException">A covered component is missing (e.g. no <c>A2A-Version</c> header).</exception>
    public static async Task<SignatureHeaders> ApplyAsync(HttpRequestMessage request, SignatureKey key, SignatureOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(key);
        options = ForContent(request, options ?? SignatureOptions.Default);
        if (NeedsDigest(request, options))
        {
            await request.Content!.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
            var body = await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            request.Content.Headers.TryAddWithoutValidation(ContentDigest.FieldName, ContentDigest.Compute(body));
        }

        return AddSignature(request, key, options);
    }

    /// <summary>Signs <paramref name="request"/> synchronously; its content is read into memory (and replaced by that copy) to compute the digest.</summary>
    /// <exception cref="InvalidOperationException">A covered component is missing (e.g. no <c>A2A-Version</c> header).</exception>
    public static SignatureHeaders Apply(HttpRequestMessage request, SignatureKey key, SignatureOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(key);
        options = ForContent(request, options ?? SignatureOptions.Default);
        if (NeedsDigest(request, options))
        {
            var original = request.Content!;
            byte[] body;
            using (var stream = original.ReadAsStream())
            using (var copy = new MemoryStream())
            {
                stream.CopyTo(copy);
                body = copy.ToArray();
            }

            var buffered = new ByteArrayContent(body);
            foreach (var (name, values) in original.Headers.NonValidated)
            {
                buffered.Headers.TryAddWithoutValidation(name, values);
            }

            buffered.Headers.TryAddWithoutValidation(ContentDigest.FieldName, ContentDigest.Compute(body));
            request.Content = buffered;
            original.Dispose();
        }

        return AddSignature(request, key, options);
    }

    private static SignatureOptions ForContent(HttpRequestMessage request, SignatureOptions options) =>
        request.Content is not null
            ? options
            : options with
            {
                Components = [.. options.Components.Where(c => !IsContentComponent(c))],
                ExtraComponents = [.. options.ExtraComponents.Where(c => !IsContentComponent(c))],
            };

    private static bool IsContentComponent(string component) =>
        component.Equals("content-type", StringComparison.OrdinalIgnoreCase) || component.Equals("content-digest", StringComparison.OrdinalIgnoreCase);

    private static bool NeedsDigest(HttpRequestMessage request, SignatureOptions options) =>
        request.Content is not null
        && options.Components.Concat(options.ExtraComponents).Any(c => c.Equals("content-digest", StringComparison.OrdinalIgnoreCase))
        && !request.Headers.NonValidated.Contains(ContentDigest.FieldName)
        && !request.Content.Headers.NonValidated.Contains(ContentDigest.FieldName);

    private static SignatureHeaders AddSignature(HttpRequestMessage request, SignatureKey key, SignatureOptions options)
    {
        var headers = HttpMessageSigner.Sign(SignatureRequest.From(request), key, options);
        Replace(request.Headers, HttpMessageSigner.SignatureInputField, headers.Label, headers.SignatureInput);
        Replace(request.Headers, HttpMessageSigner.SignatureField, headers.Label, headers.Signature);
        return headers;
    }

    private static void Replace(HttpRequestHeaders headers, string field, string label, string member)
    {
        if (headers.NonValidated.TryGetValues(field, out var existing))
        {
            var combined = SignatureMessage.CombineFieldLines(existing)!;
            headers.Remove(field);
            try
            {
                var others = StructuredFields.ParseDictionary(combined, field).Where(m => m.Key != label).ToList();
                if (others.Count > 0)
                {
                    headers.TryAddWithoutValidation(field, StructuredFields.Serialize(new SfDictionary(others)));
                }
            }
            catch (StructuredFieldException)
            {
                // Not ours to repair: keep it as it was; the new member follows it.
                headers.TryAddWithoutValidation(field, combined);
            }
        }

        headers.TryAddWithoutValidation(field, member);
    }
}

/// <summary>
/// Signs every request sent through it with <see cref="Signature.ApplyAsync"/> (RFC 9421, plus <c>Content-Digest</c>;
/// the content is buffered to compute it). The key is not disposed with the handler.
/// </summary>
public sealed class HttpMessageSigningHandler : DelegatingHandler
{
    private readonly SignatureKey _key;
    private readonly SignatureOptions _options;

    /// <summary>A handler for use with <c>IHttpClientFactory</c> (which sets the inner handler).</summary>
    public HttpMessageSigningHandler(SignatureKey key, SignatureOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        _key = key;
        _options = options ?? SignatureOptions.Default;
    }

    /// <summary>A handler in front of <paramref name="innerHandler"/>.</summary>
    public HttpMessageSigningHandler(HttpMessageHandler innerHandler, SignatureKey key, SignatureOptions? options = null)
        : base(innerHandler)
    {
        ArgumentNullException.ThrowIfNull(key);
        _key = key;
        _options = options ?? SignatureOptions.Default;
    }

    /// <inheritdoc/>
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        await Signature.ApplyAsync(request, _key, _options, cancellationToken).ConfigureAwait(false);
        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Signature.Apply(request, _key, _options);
        return base.Send(request, cancellationToken);
    }
}
