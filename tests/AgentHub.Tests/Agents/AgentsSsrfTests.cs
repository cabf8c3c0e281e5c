using System.Net;
using AgentHub.Agents;
using AgentHub.Tests.Infrastructure;

namespace AgentHub.Tests.Agents;

/// <summary>Without an allow-list the hub reaches only public addresses: every refusal is a 400 naming the field, and nothing is contacted.</summary>
public sealed class AgentsSsrfTests : IAsyncLifetime
{
    private CardServer _listener = null!;
    private HubTestHost _hub = null!;
    private HttpClient _admin = null!;

    public async Task InitializeAsync()
    {
        _listener = await CardServer.StartAsync();
        _listener.Card = Cards.Valid("https://agent.example.com/a2a");
        _hub = await HubTestHost.StartAsync();
        _admin = _hub.Http(_hub.AdminKey);
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        await _listener.DisposeAsync();
    }

    [Theory]
    [InlineData("http://127.0.0.1:{port}/card", "loopback")]
    [InlineData("http://localhost:{port}/card", "loopback")]
    [InlineData("http://[::1]:{port}/card", "loopback")]
    [InlineData("http://[::ffff:127.0.0.1]:{port}/card", "loopback")]
    [InlineData("http://10.1.2.3/card", "private")]
    [InlineData("http://192.168.0.1/card", "private")]
    [InlineData("http://172.16.5.4/card", "private")]
    [InlineData("http://169.254.169.254/latest/meta-data/", "link-local")]
    [InlineData("http://0.0.0.0:{port}/card", "unspecified")]
    [InlineData("http://[fd00::1]/card", "unique local")]
    [InlineData("http://[fe80::1]/card", "link-local")]
    [InlineData("http://224.0.0.1/card", "multicast")]
    [InlineData("file:///etc/passwd", "not 'file:'")]
    [InlineData("ftp://127.0.0.1/card", "not 'ftp:'")]
    public async Task Card_url_to_a_non_public_address_is_refused_and_never_contacted(string template, string reason)
    {
        var url = template.Replace("{port}", _listener.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

        var response = await _admin.PostJsonAsync("/api/v1/agents", $$"""{"id":"ssrf","cardUrl":"{{url}}"}""");

        var problem = await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains(reason, problem.Errors!["cardUrl"][0], StringComparison.Ordinal);
        Assert.Equal(0, _listener.Hits);
    }

    [Theory]
    [InlineData("http://127.0.0.1:9/a2a")]
    [InlineData("http://169.254.169.254/")]
    [InlineData("http://[::1]/a2a")]
    public async Task Upstream_from_the_card_to_a_non_public_address_is_refused(string upstream)
    {
        var response = await _admin.PostJsonAsync("/api/v1/agents", $$"""{"id":"ssrf","card":{{Cards.Valid(upstream)}}}""");

        var problem = await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("card.supportedInterfaces[0].url", problem.Errors!.Keys);
    }

    [Fact]
    public async Task Upstream_override_to_a_non_public_address_is_refused()
    {
        var response = await _admin.PostJsonAsync("/api/v1/agents",
            $$"""{"id":"ssrf","card":{{Cards.Valid("https://agent.example.com/a2a")}},"upstreamUrl":"http://10.0.0.5/a2a"}""");

        var problem = await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("private", problem.Errors!["upstreamUrl"][0], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("8.8.8.8", null)]
    [InlineData("2606:4700::1111", null)]
    [InlineData("127.0.0.2", "loopback")]
    [InlineData("100.64.0.1", "shared (carrier-grade NAT)")]
    [InlineData("172.32.0.1", null)]
    [InlineData("::", "unspecified")]
    [InlineData("ff02::1", "multicast")]
    [InlineData("fc00::1", "private (unique local)")]
    [InlineData("::ffff:10.0.0.1", "private")]
    public void Classify_names_non_public_addresses(string address, string? expected) =>
        Assert.Equal(expected, UrlGuard.Classify(IPAddress.Parse(address)));

    [Fact]
    public async Task Allow_private_networks_lets_a_loopback_card_through()
    {
        await using var hub = await HubTestHost.StartAsync(settings: new Dictionary<string, string?> { ["Agents:AllowPrivateNetworks"] = "true" });
        _listener.Card = Cards.Valid($"http://127.0.0.1:{_listener.Port}/a2a");

        var response = await hub.Http(hub.AdminKey).PostJsonAsync("/api/v1/agents", $$"""{"id":"private","cardUrl":"{{_listener.CardUrl}}"}""");
        var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        TestArtifacts.Secret(body.GetProperty("key").GetProperty("key").GetString()!);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(1, _listener.Hits);
    }
}
