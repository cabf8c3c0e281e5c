using System.Net;

namespace AgentHub.Client;

/// <summary>The hub answered with an error; <see cref="Problem"/> says what was wrong.</summary>
public sealed class AgentHubException : Exception
{
    /// <summary>Creates the exception from the hub's answer.</summary>
    public AgentHubException(HttpStatusCode status, Problem? problem)
        : base(Describe(status, problem))
    {
        StatusCode = status;
        Problem = problem;
    }

    /// <summary>Creates an exception with a message only.</summary>
    public AgentHubException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    public AgentHubException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an empty exception.</summary>
    public AgentHubException()
    {
    }

    /// <summary>HTTP status of the answer.</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary>The problem details, when the hub sent them.</summary>
    public Problem? Problem { get; }

    private static string Describe(HttpStatusCode status, Problem? problem)
    {
        var text = $"{(int)status} {problem?.Title ?? status.ToString()}";
        if (!string.IsNullOrEmpty(problem?.Detail))
        {
            text += ": " + problem.Detail;
        }

        if (problem?.Errors is { Count: > 0 } errors)
        {
            text += Environment.NewLine + string.Join(Environment.NewLine,
                errors.SelectMany(e => e.Value.Select(m => $"  {e.Key}: {m}")));
        }

        return text;
    }
}
