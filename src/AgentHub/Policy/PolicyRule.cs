using System.Text.RegularExpressions;
using AgentHub.Identity;

namespace AgentHub.Policy;

/// <summary>One stored rule. <see cref="Methods"/> is <c>["*"]</c> or distinct A2A method names in ordinal order.</summary>
internal sealed record PolicyRule(
    string Id,
    string Caller,
    string Agent,
    IReadOnlyList<string> Methods,
    string Effect,
    string? Description,
    DateTimeOffset CreatedAt,
    string CreatedBy)
{
    public bool IsDeny => Effect == PolicyEffects.Deny;
}

internal static class PolicyEffects
{
    public const string Allow = "allow";
    public const string Deny = "deny";

    /// <summary>The constant for a known effect, else the value itself.</summary>
    public static string Canonical(string effect) => effect switch
    {
        Allow => Allow,
        Deny => Deny,
        _ => effect,
    };
}

/// <summary>The A2A v1.0 JSON-RPC method names a rule may name; each has one bit in a rule's method mask.</summary>
internal static class PolicyMethods
{
    public const string Any = "*";

    public static readonly IReadOnlyList<string> All =
    [
        "SendMessage",
        "SendStreamingMessage",
        "GetTask",
        "ListTasks",
        "CancelTask",
        "SubscribeToTask",
        "CreateTaskPushNotificationConfig",
        "GetTaskPushNotificationConfig",
        "ListTaskPushNotificationConfigs",
        "DeleteTaskPushNotificationConfig",
        "GetExtendedAgentCard",
    ];

    public static readonly int AllMask = (1 << All.Count) - 1;

    /// <summary>The method's bit index, or -1 for a name that is not an A2A v1.0 method. No allocation.</summary>
    public static int Bit(string? method) => method switch
    {
        "SendMessage" => 0,
        "SendStreamingMessage" => 1,
        "GetTask" => 2,
        "ListTasks" => 3,
        "CancelTask" => 4,
        "SubscribeToTask" => 5,
        "CreateTaskPushNotificationConfig" => 6,
        "GetTaskPushNotificationConfig" => 7,
        "ListTaskPushNotificationConfigs" => 8,
        "DeleteTaskPushNotificationConfig" => 9,
        "GetExtendedAgentCard" => 10,
        _ => -1,
    };

    /// <summary>Replaces, in place, each known method name (and <c>*</c>) by the shared constant; returns the array.</summary>
    public static string[] Canonical(string[] methods)
    {
        for (var i = 0; i < methods.Length; i++)
        {
            var bit = Bit(methods[i]);
            methods[i] = bit >= 0 ? All[bit] : methods[i] == Any ? Any : methods[i];
        }

        return methods;
    }

    public static int Mask(IReadOnlyList<string> methods)
    {
        var mask = 0;
        foreach (var method in methods)
        {
            mask |= method == Any ? AllMask : 1 << Bit(method);
        }

        return mask;
    }
}

/// <summary>Checks a rule as submitted and reports every bad field at once (the caller fixes them in one go).</summary>
internal static partial class PolicyValidation
{
    public const int MaxDescription = 500;

    public static Dictionary<string, string[]> Validate(string? caller, string? agent, IReadOnlyList<string?>? methods, string? effect, string? description)
    {
        var errors = new Dictionary<string, string[]>();
        if (CallerError(caller) is { } callerError)
        {
            errors["caller"] = [callerError];
        }

        if (AgentError(agent) is { } agentError)
        {
            errors["agent"] = [agentError];
        }

        if (MethodErrors(methods) is { Length: > 0 } methodErrors)
        {
            errors["methods"] = methodErrors;
        }

        if (effect is not (PolicyEffects.Allow or PolicyEffects.Deny))
        {
            errors["effect"] = [effect is null ? "effect is required: allow or deny." : $"effect '{effect}' is not allow or deny."];
        }

        if (description is { Length: > MaxDescription })
        {
            errors["description"] = [$"description is at most {MaxDescription} characters."];
        }

        return errors;
    }

    public static string? CallerError(string? caller)
    {
        if (string.IsNullOrEmpty(caller))
        {
            return "caller is required: agent:<id>, user:<name>, role:<role> or *.";
        }

        if (caller == "*" || PrincipalId.TryParse(caller, out _))
        {
            return null;
        }

        if (caller.StartsWith("role:", StringComparison.Ordinal))
        {
            var role = caller["role:".Length..];
            return Roles.IsKnown(role) ? null : $"caller '{caller}' names no role; roles are {string.Join(", ", Roles.All)}.";
        }

        return $"caller '{caller}' must be agent:<id>, user:<name>, role:<role> or *, the id or name 1-63 characters of a-z, 0-9, '.', '_' or '-'.";
    }

    public static string? AgentError(string? agent)
    {
        if (string.IsNullOrEmpty(agent))
        {
            return "agent is required: an agent id or *.";
        }

        return agent == "*" || AgentIdPattern().IsMatch(agent)
            ? null
            : $"agent '{agent}' must be an agent id (1-63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit) or *.";
    }

    private static string[] MethodErrors(IReadOnlyList<string?>? methods)
    {
        if (methods is null || methods.Count == 0)
        {
            return ["methods is required: a list of A2A method names, or [\"*\"] for every method."];
        }

        var errors = new List<string>();
        foreach (var method in methods)
        {
            if (method is null or PolicyMethods.Any)
            {
                continue;
            }

            if (PolicyMethods.Bit(method) < 0)
            {
                errors.Add($"'{method}' is not an A2A v1.0 method; methods are {string.Join(", ", PolicyMethods.All)}, or *.");
            }
        }

        if (methods.Any(m => m is null))
        {
            errors.Add("methods must not contain null.");
        }

        if (methods.Count > 1 && methods.Any(m => m == PolicyMethods.Any))
        {
            errors.Add("'*' means every method and must be the only entry.");
        }

        return [.. errors];
    }

    /// <summary>The stored form of a valid method list: ["*"], or the distinct names in ordinal order.</summary>
    public static IReadOnlyList<string> Normalize(IReadOnlyList<string?> methods) =>
        methods.Contains(PolicyMethods.Any) ? [PolicyMethods.Any] : [.. methods.OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    [GeneratedRegex(@"^[a-z0-9][a-z0-9._-]{0,62}\z", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 100)]
    private static partial Regex AgentIdPattern();
}
