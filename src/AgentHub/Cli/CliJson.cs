using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace AgentHub.Cli;

/// <summary>How the verbs print <c>--json</c>: indented, nulls left out, source-generated for every verb's types.</summary>
internal static class CliJson
{
    public static readonly JsonSerializerOptions Pretty = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        TypeInfoResolver = JsonTypeInfoResolver.Combine(CliJsonContext.Default, AgentsCliJsonContext.Default, PolicyCliJsonContext.Default),
    };
}
