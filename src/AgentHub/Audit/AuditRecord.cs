using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace AgentHub.Audit;

/// <summary>What happened, as a caller of the audit log states it. Details never hold a secret or a message body.</summary>
internal sealed record AuditEvent(string Type, string Actor, string? Target, string Outcome, IReadOnlyDictionary<string, string>? Details = null);

/// <summary>Outcomes a record can state.</summary>
internal static class AuditOutcome
{
    public const string Success = "success";
    public const string Failure = "failure";
    public const string Denied = "denied";
}

/// <summary>
/// A record as stored: its canonical JSON (fixed member order, details sorted by key, UTC time with 'Z', no
/// whitespace) is what the chain and the Merkle tree hash; the columns beside it exist for queries and must agree.
/// </summary>
internal sealed record AuditRecord(long Seq, DateTimeOffset Time, string Type, string Actor, string? Target, string Outcome,
    IReadOnlyDictionary<string, string> Details)
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.Default, Indented = false };

    public static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public byte[] Canonical()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteNumber("seq", Seq);
            writer.WriteString("time", FormatTime(Time));
            writer.WriteString("type", Type);
            writer.WriteString("actor", Actor);
            if (Target is not null)
            {
                writer.WriteString("target", Target);
            }

            writer.WriteString("outcome", Outcome);
            writer.WriteStartObject("details");
            foreach (var (key, value) in Details.OrderBy(d => d.Key, StringComparer.Ordinal))
            {
                writer.WriteString(key, value);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>Parses a canonical record; null when it is not one.</summary>
    public static AuditRecord? Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            using var document = JsonDocument.Parse(json.ToArray());
            var root = document.RootElement;
            var details = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in root.GetProperty("details").EnumerateObject())
            {
                details[property.Name] = property.Value.GetString() ?? "";
            }

            return new AuditRecord(
                root.GetProperty("seq").GetInt64(),
                DateTimeOffset.Parse(root.GetProperty("time").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
                root.GetProperty("type").GetString()!,
                root.GetProperty("actor").GetString()!,
                root.TryGetProperty("target", out var target) ? target.GetString() : null,
                root.GetProperty("outcome").GetString()!,
                details);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }
}
