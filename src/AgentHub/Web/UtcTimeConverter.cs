using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentHub.Web;

/// <summary>Times leave the hub as ISO 8601 UTC with a 'Z' (2026-01-31T12:00:00.123Z), whatever their offset.</summary>
internal sealed class UtcTimeConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.GetDateTimeOffset();

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
}
