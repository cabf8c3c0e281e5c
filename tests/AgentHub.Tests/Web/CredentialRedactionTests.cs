using AgentHub.Web;

namespace AgentHub.Tests.Web;

public sealed class CredentialRedactionTests
{
    [Theory]
    [InlineData("caller 'ahk_abcdefghijklmnop_Zm9vYmFyYmF6cXV4cXV1eA' must be", "caller 'ahk_abcdefghijklmnop_(redacted: looks like a credential)' must be")]
    [InlineData("token eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0. here", "token (redacted: looks like a credential) here")]
    [InlineData("token eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln!", "token (redacted: looks like a credential)!")]
    [InlineData("agent 'sk-proj-Abcdefghijklmnop1234' is not", "agent '(redacted: looks like a credential)' is not")]
    public void Credentials_are_replaced(string text, string expected) => Assert.Equal(expected, CredentialRedaction.Redact(text));

    [Theory]
    [InlineData("No key 'abcdefghijklmnop'.")]
    [InlineData("caller 'user:alice' names no role; roles are admin, operator, auditor.")]
    [InlineData("The token's signature does not verify with key '5PjiyGj4SbYZ0bmPObHzOtrk0ZOIqKtOptte7naqtCY'.")]
    [InlineData("Task 'task-sk-1' not found.")]
    [InlineData("No agent 'sk-learn-model-router-01' is registered.")]
    [InlineData("")]
    public void Ordinary_messages_are_unchanged(string text) => Assert.Equal(text, CredentialRedaction.Redact(text));
}
