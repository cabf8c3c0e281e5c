using System.Text.Json;

namespace AgentHub.Agents;

/// <summary>A skill as discovery shows it.</summary>
internal sealed record AgentSkillSummary(string Id, string Name, string Description, IReadOnlyList<string> Tags);

/// <summary>What the registry indexes from a valid card; the card itself is kept as received.</summary>
internal sealed record CardInfo(string Name, string Description, string Version, IReadOnlyList<AgentSkillSummary> Skills, string? JsonRpcUrl)
{
    /// <summary>Lowercase text that <c>q</c> searches: name, description, skill names and descriptions.</summary>
    public string SearchText => string.Join('\n', new[] { Name, Description }
        .Concat(Skills.SelectMany(s => new[] { s.Name, s.Description }))).ToLowerInvariant();

    public IReadOnlyList<string> Tags => Skills.SelectMany(s => s.Tags).Select(t => t.ToLowerInvariant()).Distinct(StringComparer.Ordinal).ToList();
}

/// <summary>
/// Checks an A2A v1.0 Agent Card and names every missing or malformed field at once, keyed by its JSON path
/// (<c>card.supportedInterfaces[0].url</c>). Only what the hub relies on is checked; anything else (extensions,
/// signatures, fields of later versions) passes through untouched.
/// </summary>
internal static class CardValidator
{
    public static readonly string[] Bindings = ["JSONRPC", "HTTP+JSON", "GRPC"];

    public static (CardInfo? Info, Dictionary<string, string[]> Errors) Validate(JsonElement card, bool upstreamGiven, string prefix = "card")
    {
        var errors = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        void Add(string path, string message)
        {
            if (!errors.TryGetValue(path, out var list))
            {
                errors[path] = list = [];
            }

            list.Add(message);
        }

        if (card.ValueKind != JsonValueKind.Object)
        {
            Add(prefix, "The Agent Card must be a JSON object.");
            return (null, Flatten(errors));
        }

        // I-JSON (RFC 7493): readers would disagree on a duplicated member, and signatures cannot cover either.
        if (NotIJson(card, prefix) is { } notIJson)
        {
            Add(notIJson.Path, notIJson.Problem);
            return (null, Flatten(errors));
        }

        var name = RequiredString(card, "name", prefix, Add);
        var description = RequiredString(card, "description", prefix, Add);
        var version = RequiredString(card, "version", prefix, Add);

        string? jsonRpcUrl = null;
        if (!card.TryGetProperty("supportedInterfaces", out var interfaces) || interfaces.ValueKind != JsonValueKind.Array)
        {
            Add($"{prefix}.supportedInterfaces", "supportedInterfaces is required: an array of {url, protocolBinding, protocolVersion}.");
        }
        else if (interfaces.GetArrayLength() == 0)
        {
            Add($"{prefix}.supportedInterfaces", "supportedInterfaces must list at least one interface.");
        }
        else
        {
            var i = 0;
            foreach (var entry in interfaces.EnumerateArray())
            {
                var path = $"{prefix}.supportedInterfaces[{i++}]";
                if (entry.ValueKind != JsonValueKind.Object)
                {
                    Add(path, "An interface must be an object {url, protocolBinding, protocolVersion}.");
                    continue;
                }

                var url = RequiredString(entry, "url", path, Add);
                if (url is not null && UrlGuard.CheckSyntax(url, "url", out _) is { } urlError)
                {
                    Add($"{path}.url", urlError);
                    url = null;
                }

                var binding = RequiredString(entry, "protocolBinding", path, Add);
                if (binding is not null && !Bindings.Contains(binding, StringComparer.Ordinal))
                {
                    Add($"{path}.protocolBinding", "protocolBinding must be one of JSONRPC, HTTP+JSON, GRPC.");
                }

                RequiredString(entry, "protocolVersion", path, Add);
                if (binding == "JSONRPC" && url is not null)
                {
                    jsonRpcUrl ??= url;
                }
            }

            if (jsonRpcUrl is null && !upstreamGiven && !errors.Keys.Any(k => k.StartsWith($"{prefix}.supportedInterfaces", StringComparison.Ordinal)))
            {
                Add($"{prefix}.supportedInterfaces",
                    "The hub relays JSON-RPC: the card needs an interface with protocolBinding JSONRPC, or give upstreamUrl.");
            }
        }

        if (!card.TryGetProperty("capabilities", out var capabilities) || capabilities.ValueKind != JsonValueKind.Object)
        {
            Add($"{prefix}.capabilities", "capabilities is required and must be an object.");
        }

        StringArray(card, "defaultInputModes", prefix, Add);
        StringArray(card, "defaultOutputModes", prefix, Add);

        var skills = new List<AgentSkillSummary>();
        if (!card.TryGetProperty("skills", out var skillArray) || skillArray.ValueKind != JsonValueKind.Array)
        {
            Add($"{prefix}.skills", "skills is required and must be an array.");
        }
        else
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var i = 0;
            foreach (var skill in skillArray.EnumerateArray())
            {
                var path = $"{prefix}.skills[{i++}]";
                if (skill.ValueKind != JsonValueKind.Object)
                {
                    Add(path, "A skill must be an object {id, name, description, tags}.");
                    continue;
                }

                var id = RequiredString(skill, "id", path, Add);
                if (id is not null && !seen.Add(id))
                {
                    Add($"{path}.id", $"Skill id '{id}' appears more than once.");
                }

                var skillName = RequiredString(skill, "name", path, Add);
                var skillDescription = RequiredString(skill, "description", path, Add);
                var tags = StringArray(skill, "tags", path, Add);
                if (id is not null && skillName is not null && skillDescription is not null && tags is not null)
                {
                    skills.Add(new AgentSkillSummary(id, skillName, skillDescription, tags));
                }
            }
        }

        return errors.Count > 0
            ? (null, Flatten(errors))
            : (new CardInfo(name!, description!, version!, skills, jsonRpcUrl), []);
    }

    private static (string Path, string Problem)? NotIJson(JsonElement element, string path)
    {
        try
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    var names = new HashSet<string>(StringComparer.Ordinal);
                    foreach (var member in element.EnumerateObject())
                    {
                        if (!names.Add(member.Name))
                        {
                            return (path, $"The member '{member.Name}' appears more than once.");
                        }

                        if (NotIJson(member.Value, $"{path}.{member.Name}") is { } inner)
                        {
                            return inner;
                        }
                    }

                    return null;
                case JsonValueKind.Array:
                    var i = 0;
                    foreach (var item in element.EnumerateArray())
                    {
                        if (NotIJson(item, $"{path}[{i++}]") is { } inner)
                        {
                            return inner;
                        }
                    }

                    return null;
                case JsonValueKind.String:
                    _ = element.GetString();
                    return null;
                default:
                    return null;
            }
        }
        catch (InvalidOperationException)
        {
            return (path, "A string or member name is not valid Unicode (an unpaired surrogate escape).");
        }
    }

    private static string? RequiredString(JsonElement parent, string property, string prefix, Action<string, string> add)
    {
        if (!parent.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            add($"{prefix}.{property}", $"{property} is required.");
            return null;
        }

        if (value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(value.GetString()))
        {
            add($"{prefix}.{property}", $"{property} must be a non-empty string.");
            return null;
        }

        return value.GetString();
    }

    private static List<string>? StringArray(JsonElement parent, string property, string prefix, Action<string, string> add)
    {
        if (!parent.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            add($"{prefix}.{property}", $"{property} is required (an array of strings).");
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.String))
        {
            add($"{prefix}.{property}", $"{property} must be an array of strings.");
            return null;
        }

        return value.EnumerateArray().Select(v => v.GetString()!).ToList();
    }

    private static Dictionary<string, string[]> Flatten(Dictionary<string, List<string>> errors) =>
        errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal);
}
