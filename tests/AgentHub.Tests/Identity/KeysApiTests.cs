using System.Net;
using AgentHub.Client;
using AgentHub.Tests.Infrastructure;

namespace AgentHub.Tests.Identity;

public sealed class KeysApiTests
{
    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Created_key_authenticates_as_its_principal_and_role(Db db)
    {
        await using var hub = await HubTestHost.StartAsync(db);
        var principal = HubTestHost.UniqueUser("alice");

        var created = await hub.CreateKeyAsync(principal, "operator");

        var me = await hub.Client(created.Key).WhoAmIAsync();
        Assert.Equal(new WhoAmI(principal, "operator", created.Id), me);
        Assert.StartsWith($"ahk_{created.Id}_", created.Key, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Revoked_key_is_refused_at_once()
    {
        await using var hub = await HubTestHost.StartAsync();
        var created = await hub.CreateKeyAsync(HubTestHost.UniqueUser(), "auditor");
        await hub.AdminClient().RevokeKeyAsync(created.Id);

        var response = await hub.Http(created.Key).GetAsync("/api/v1/me");

        var problem = await HttpAssert.ProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("The API key has been revoked.", problem.Detail);
        Assert.StartsWith("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }
}
