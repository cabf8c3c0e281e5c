using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace AgentHub.Identity;

/// <summary>A principal id: <c>user:&lt;name&gt;</c> or <c>agent:&lt;id&gt;</c>; names are lowercase slugs.</summary>
internal static partial class PrincipalId
{
    public const string UserKind = "user";
    public const string AgentKind = "agent";
    public const string Rule = "a principal is user:<name> or agent:<id>, where the name is 1-63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit";

    public static bool TryParse(string? value, [NotNullWhen(true)] out string? kind)
    {
        kind = null;
        if (value is null)
        {
            return false;
        }

        var match = Pattern().Match(value);
        if (!match.Success)
        {
            return false;
        }

        kind = match.Groups["kind"].Value;
        return true;
    }

    [GeneratedRegex(@"^(?<kind>user|agent):[a-z0-9][a-z0-9._-]{0,62}\z", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 100)]
    private static partial Regex Pattern();
}
