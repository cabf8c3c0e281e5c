using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using AgentHub.Tests.Infrastructure;

namespace AgentHub.Tests.Hosting;

/// <summary><c>--tls-cert/--tls-key</c>: HTTPS only, TLS 1.2 and 1.3 only, HSTS.</summary>
public sealed class TlsTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _certPath;
    private readonly string _keyPath;
    private readonly X509Certificate2 _certificate;

    public TlsTests()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        _certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        _certPath = Path.Combine(_dir.Path, "hub.crt");
        _keyPath = Path.Combine(_dir.Path, "hub.key");
        File.WriteAllText(_certPath, _certificate.ExportCertificatePem());
        File.WriteAllText(_keyPath, key.ExportPkcs8PrivateKeyPem());
    }

    [Theory]
    [InlineData(SslProtocols.Tls12)]
    [InlineData(SslProtocols.Tls13)]
    public async Task Tls_hub_accepts_tls12_and_tls13_and_sends_hsts(SslProtocols protocol)
    {
        await using var hub = await StartAsync();
        using var http = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                EnabledSslProtocols = protocol,
                RemoteCertificateValidationCallback = (_, cert, _, _) => cert is not null && cert.GetCertHashString() == _certificate.Thumbprint,
            },
        })
        { BaseAddress = hub.Url };

        var response = await http.GetAsync("/healthz");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("max-age=31536000; includeSubDomains", response.Headers.GetValues("Strict-Transport-Security").Single());
        Assert.Equal(0, await hub.StopAsync());
    }

    [Fact]
    public async Task Tls_hub_negotiates_tls13_when_offered_and_refuses_plain_http()
    {
        await using var hub = await StartAsync();
        Assert.Equal("https", hub.Url.Scheme);

        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(hub.Url.Host, hub.Url.Port);
            await using var ssl = new SslStream(tcp.GetStream(), false, (_, cert, _, _) => cert?.GetCertHashString() == _certificate.Thumbprint);
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "127.0.0.1" });
            Assert.Equal(SslProtocols.Tls13, ssl.SslProtocol);
        }

        using var plain = new HttpClient { BaseAddress = new Uri($"http://{hub.Url.Authority}") };
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => plain.GetAsync("/healthz"));
    }

    [Fact]
    public async Task Tls_with_an_http_url_is_a_usage_error()
    {
        var (exit, _, stderr) = await HubProcess.RunAsync(["serve", "--data", _dir.Path, "--urls", "http://127.0.0.1:0",
            "--tls-cert", _certPath, "--tls-key", _keyPath]);

        Assert.Equal(2, exit);
        Assert.Contains("https://", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tls_cert_without_key_stops_start_naming_both_options()
    {
        var (exit, _, stderr) = await HubProcess.RunAsync(["serve", "--data", _dir.Path, "--urls", "https://127.0.0.1:0",
            "--tls-cert", _certPath]);

        Assert.Equal(1, exit);
        Assert.Contains("--tls-key", stderr, StringComparison.Ordinal);
    }

    private Task<HubProcess> StartAsync() =>
        HubProcess.StartAsync(Path.Combine(_dir.Path, "data-" + Guid.NewGuid().ToString("N")[..6]),
            ["--tls-cert", _certPath, "--tls-key", _keyPath], urls: "https://127.0.0.1:0");

    public void Dispose()
    {
        _certificate.Dispose();
        _dir.Dispose();
    }
}
