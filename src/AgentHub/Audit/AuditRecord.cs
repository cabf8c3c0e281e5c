using System.Buffers;
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

    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    // The audit writer builds records on whatever thread runs its loop: one buffer and writer per thread, reused.
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? _threadBuffer;

    [ThreadStatic]
    private static Utf8JsonWriter? _threadWriter;

    public static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    public byte[] Canonical()
    {
        var buffer = _threadBuffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        var writer = _threadWriter ??= new Utf8JsonWriter(buffer, WriterOptions);
        writer.Reset(buffer);
        try
        {
            writer.WriteStartObject();
            writer.WriteNumber("seq", Seq);
            Span<char> time = stackalloc char[32];
            Time.UtcDateTime.TryFormat(time, out var length, TimeFormat, CultureInfo.InvariantCulture);
            writer.WriteString("time", time[..length]);
            writer.WriteString("type", Type);
            writer.WriteString("actor", Actor);
            if (Target is not null)
            {
                writer.WriteString("target", Target);
            }

            writer.WriteString("outcome", Outcome);
            writer.WriteStartObject("details");
            if (Details.Count > 0)
            {
                var keys = new string[Details.Count];
                var i = 0;
                foreach (var key in Details.Keys)
                {
                    keys[i++] = key;
                }

                Array.Sort(keys, StringComparer.Ordinal);
                foreach (var key in keys)
                {
                    writer.WriteString(key, Details[key]);
                }
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.Flush();
            return buffer.WrittenSpan.ToArray();
        }
        finally
        {
            if (buffer.Capacity > 64 * 1024)
            {
                _threadBuffer = null; // an unusually large record: do not keep its buffer for the life of the thread
                _threadWriter = null;
            }
        }
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
