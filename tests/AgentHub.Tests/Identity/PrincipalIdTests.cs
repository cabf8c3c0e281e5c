using AgentHub.Identity;

namespace AgentHub.Tests.Identity;

/// <summary><c>user:&lt;name&gt;</c> or <c>agent:&lt;id&gt;</c>, names 1-63 lowercase slug characters.</summary>
public sealed class PrincipalIdTests
{
    private static readonly string LongestName = "a" + new string('z', 62);

    public static TheoryData<string, string> Valid => new()
    {
        { "user:alice", "user" },
        { "agent:weather-bot", "agent" },
        { "user:a", "user" },
        { "user:0day", "user" },
        { "agent:a.b_c-d", "agent" },
        { "user:" + LongestName, "user" },
    };

    public static TheoryData<string?> Invalid => new()
    {
        null,
        "",
        "alice",
        "user:",
        "agent:",
        "user:Alice",
        "USER:alice",
        "group:ops",
        "user:-alice",
        "user:.alice",
        "user:_alice",
        "user:alice bob",
        "user:ali/ce",
        "user: alice",
        " user:alice",
        "user:alice ",
        "user:alice\n",
        "user:alice\r\n",
        "user:alice:admin",
        "user:élan",
        "user:alice\0",
        "user:" + LongestName + "z",
    };

    [Theory]
    [MemberData(nameof(Valid))]
    public void Valid_principal_parses_to_its_kind(string value, string kind)
    {
        Assert.True(PrincipalId.TryParse(value, out var parsed));
        Assert.Equal(kind, parsed);
    }

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Invalid_principal_is_refused(string? value)
    {
        Assert.False(PrincipalId.TryParse(value, out var kind), $"accepted '{value}'");
        Assert.Null(kind);
    }
}
