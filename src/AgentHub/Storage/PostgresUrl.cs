using Npgsql;

namespace AgentHub.Storage;

/// <summary>Accepts <c>postgres://user:password@host:port/db?sslmode=require</c> as well as Npgsql's key=value form.</summary>
internal static class PostgresUrl
{
    public static string ToConnectionString(string value)
    {
        if (!value.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) &&
            !value.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            return value;
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw new FormatException("The database URL is not a valid postgres:// URL.");
        }

        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
            Database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')) is { Length: > 0 } db ? db : "postgres",
        };
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            builder.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length == 2)
            {
                builder.Password = Uri.UnescapeDataString(parts[1]);
            }
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            var name = Uri.UnescapeDataString(kv[0]);
            var setting = kv.Length == 2 ? Uri.UnescapeDataString(kv[1]) : "";
            switch (name.ToLowerInvariant())
            {
                case "sslmode":
                    builder.SslMode = setting.ToLowerInvariant() switch
                    {
                        "disable" => SslMode.Disable,
                        "allow" => SslMode.Allow,
                        "prefer" => SslMode.Prefer,
                        "require" => SslMode.Require,
                        "verify-ca" => SslMode.VerifyCA,
                        "verify-full" => SslMode.VerifyFull,
                        _ => throw new FormatException($"The database URL's sslmode '{setting}' is not one of disable, allow, prefer, require, verify-ca, verify-full."),
                    };
                    break;
                case "application_name":
                    builder.ApplicationName = setting;
                    break;
                case "connect_timeout":
                    builder.Timeout = int.TryParse(setting, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
                        ? seconds
                        : throw new FormatException($"The database URL's connect_timeout '{setting}' is not a number of seconds.");
                    break;
                case "sslrootcert":
                    builder.RootCertificate = setting;
                    break;
                case "sslcert":
                    builder.SslCertificate = setting;
                    break;
                case "sslkey":
                    builder.SslKey = setting;
                    break;
                case "target_session_attrs":
                    builder["Target Session Attributes"] = setting;
                    break;
                default:
                    // Npgsql's own keywords (e.g. "Maximum Pool Size") pass through; it names an unknown one.
                    builder[name] = setting;
                    break;
            }
        }

        return builder.ConnectionString;
    }
}
