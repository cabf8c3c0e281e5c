using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using AgentHub.Client.Signatures;
using AgentHub.Tests.Infrastructure;

namespace AgentHub.Tests.Signatures;

/// <summary>Signing real <see cref="HttpRequestMessage"/>s: Content-Digest, headers, retries and the DelegatingHandler.</summary>
public sealed class SignatureApplyTests : IDisposable
{
    private readonly ManualTimeProvider _clock = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly ECDsa _ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly SignatureKey _key;

    public SignatureApplyTests() => _key = SignatureKey.Ecdsa("client-1", _ecdsa);

    public void Dispose()
    {
        _key.Dispose();
        _ecdsa.Dispose();
    }

    [Fact]
    public async Task ApplyAsync_adds_the_digest_and_a_signature_that_verifies()
    {
        using var request = A2aPost();

        var headers = await Signature.ApplyAsync(request, _key, Options());

        var body = await request.Content!.ReadAsByteArrayAsync();
        Assert.Equal(ContentDigest.Compute(body), Single(request.Content.Headers, "Content-Digest"));
        Assert.Equal(headers.SignatureInput, Single(request.Headers, "Signature-Input"));
        Assert.Equal(headers.Signature, Single(request.Headers, "Signature"));
        AssertVerifies(request, body);
    }

    [Fact]
    public async Task Apply_signs_synchronously_over_the_buffered_content()
    {
        using var request = A2aPost();

        Signature.Apply(request, _key, Options());

        var body = await request.Content!.ReadAsByteArrayAsync();
        Assert.Equal("application/json; charset=utf-8", request.Content.Headers.ContentType!.ToString());
        AssertVerifies(request, body);
    }

    [Fact]
    public async Task ApplyAsync_keeps_an_existing_content_digest()
    {
        using var request = A2aPost();
        request.Content!.Headers.TryAddWithoutValidation("Content-Digest", "sha-512=:AAAA:");

        await Signature.ApplyAsync(request, _key, Options());

        Assert.Equal("sha-512=:AAAA:", Single(request.Content.Headers, "Content-Digest"));
    }

    [Fact]
    public async Task ApplyAsync_again_replaces_its_own_label_and_keeps_other_signatures()
    {
        using var request = A2aPost();
        using var otherEcdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = SignatureKey.Ecdsa("other", otherEcdsa);
        await Signature.ApplyAsync(request, other, Options() with { Label = "proxy" });
        await Signature.ApplyAsync(request, _key, Options());
        _clock.Advance(TimeSpan.FromSeconds(5));

        var retried = await Signature.ApplyAsync(request, _key, Options());

        var inputs = StructuredFields.ParseDictionary(Single(request.Headers, "Signature-Input"));
        var signatures = StructuredFields.ParseDictionary(Single(request.Headers, "Signature"));
        Assert.Equal(["proxy", "sig1"], inputs.Keys);
        Assert.Equal(["proxy", "sig1"], signatures.Keys);
        Assert.Equal(retried.SignatureInput, "sig1=" + inputs[1].Value);
    }

    [Fact]
    public async Task ApplyAsync_signs_a_request_without_content_without_content_components()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://hub.example/a2a/echo?x=1");
        request.Headers.Add("A2A-Version", "1.0");

        var headers = await Signature.ApplyAsync(request, _key, Options());

        Assert.StartsWith("sig1=(\"@method\" \"@authority\" \"@path\" \"@query\" \"a2a-version\");", headers.SignatureInput);
    }

    [Fact]
    public async Task ApplyAsync_names_a_missing_covered_header()
    {
        using var request = A2aPost();
        request.Headers.Remove("A2A-Version");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Signature.ApplyAsync(request, _key, Options()));

        Assert.Contains("'a2a-version'", error.Message);
    }

    [Fact]
    public async Task Handler_signs_every_request_it_sends()
    {
        var inner = new CapturingHandler();
        using var client = new HttpClient(new HttpMessageSigningHandler(inner, _key, Options() with { ExtraComponents = ["authorization"] }))
        {
            BaseAddress = new Uri("https://hub.example/"),
        };
        client.DefaultRequestHeaders.Add("A2A-Version", "1.0");
        client.DefaultRequestHeaders.Authorization = new("Bearer", "ahk_token");

        using var response = await client.PostAsJsonAsync("a2a/echo", new { jsonrpc = "2.0", id = 1, method = "SendMessage" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var request = Assert.Single(inner.Requests);
        var verification = HttpMessageVerifier.Verify(SignatureRequest.From(request.Message), Single(request.Message.Headers, "Signature-Input"),
            Single(request.Message.Headers, "Signature"), new VerifyOptions { TimeProvider = _clock, RequiredComponents = [.. VerifyOptions.DefaultRequiredComponents, "authorization"] },
            kid => kid == "client-1" ? _key : null);
        Assert.True(verification.Success, verification.Message);
        Assert.True(ContentDigest.Verify(SignatureRequest.From(request.Message).Header("content-digest"), request.Body).Success);
    }

    [Fact]
    public void Handler_signs_synchronous_sends_too()
    {
        var inner = new CapturingHandler();
        using var client = new HttpClient(new HttpMessageSigningHandler(inner, _key, Options()));
        using var request = A2aPost();

        using var response = client.Send(request);

        var sent = Assert.Single(inner.Requests);
        Assert.Contains("Signature", sent.Message.Headers.Select(h => h.Key));
        Assert.True(ContentDigest.Verify(SignatureRequest.From(sent.Message).Header("content-digest"), sent.Body).Success);
    }

    private SignatureOptions Options() => new() { TimeProvider = _clock };

    private static HttpRequestMessage A2aPost()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "https://hub.example/a2a/echo")
        {
            Content = JsonContent.Create(new { jsonrpc = "2.0", id = 1, method = "SendMessage" }),
        };
        request.Headers.Add("A2A-Version", "1.0");
        return request;
    }

    private void AssertVerifies(HttpRequestMessage request, byte[] body)
    {
        var message = SignatureRequest.From(request);
        var result = HttpMessageVerifier.Verify(message, message.Header("signature-input"), message.Header("signature"),
            new VerifyOptions { TimeProvider = _clock }, kid => kid == "client-1" ? _key : null);
        Assert.True(result.Success, result.Message);
        Assert.True(ContentDigest.Verify(message.Header("content-digest"), body).Success);
    }

    private static string Single(System.Net.Http.Headers.HttpHeaders headers, string name) =>
        SignatureMessage.CombineFieldLines(headers.NonValidated[name])!;

    private sealed class CapturingHandler : HttpMessageHandler
    {
        public List<(HttpRequestMessage Message, byte[] Body)> Requests { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add((request, request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken)));
            return new HttpResponseMessage(HttpStatusCode.OK);
        }

        protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            using var stream = request.Content?.ReadAsStream(cancellationToken);
            using var copy = new MemoryStream();
            stream?.CopyTo(copy);
            Requests.Add((request, copy.ToArray()));
            return new HttpResponseMessage(HttpStatusCode.OK);
        }
    }
}
