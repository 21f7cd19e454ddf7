using Orchestrator.Shared.Telegram;

namespace Orchestrator.Tests.Unit.Telegram;

/// <summary>Commands, Bot API error meanings and the project settings' rules.</summary>
public sealed class TelegramParsingTests
{
    [Fact]
    public void Slash_task_takes_the_title_from_its_line_and_the_description_from_the_following_lines()
    {
        var command = ChatCommand.Parse("/task@orchestrator_bot Add a health endpoint\nGET /healthz returns 200.\n\nrepo: acme/api\nWith JSON.\nproject: shop")!;
        Assert.Equal("task", command.Name);
        Assert.Equal("Add a health endpoint", command.Title);
        Assert.Equal("GET /healthz returns 200.\n\nWith JSON.", command.Description);
        Assert.Equal("acme/api", command.Repo);
        Assert.Equal("shop", command.Project);
        Assert.Equal(("status", "WEB-42"), (ChatCommand.Parse("/status WEB-42")!.Name, ChatCommand.Parse("/status WEB-42")!.Title));
        Assert.Null(ChatCommand.Parse("we should /task this"));
        Assert.Equal("deploy", ChatCommand.Parse("/DEPLOY now")!.Name);
    }

    [Theory]
    [InlineData(429, "Too Many Requests: retry after 5", TelegramFailure.RateLimited)]
    [InlineData(400, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same", TelegramFailure.NotModified)]
    [InlineData(400, "Bad Request: message to edit not found", TelegramFailure.MessageNotFound)]
    [InlineData(403, "Forbidden: bot was kicked from the supergroup chat", TelegramFailure.ChatLost)]
    [InlineData(400, "Bad Request: chat not found", TelegramFailure.ChatLost)]
    [InlineData(400, "Bad Request: message thread not found", TelegramFailure.TopicLost)]
    [InlineData(400, "Bad Request: TOPIC_CLOSED", TelegramFailure.TopicLost)]
    [InlineData(401, "Unauthorized", TelegramFailure.Unauthorized)]
    [InlineData(409, "Conflict: terminated by other getUpdates request", TelegramFailure.Conflict)]
    [InlineData(500, "Internal Server Error", TelegramFailure.ServerError)]
    [InlineData(400, "Bad Request: can't parse entities", TelegramFailure.BadRequest)]
    public void Bot_API_errors_mean_what_Telegram_documents(int code, string description, TelegramFailure expected) =>
        Assert.Equal(expected, TelegramApi.Classify(code, description));

    [Fact]
    public void Tokens_chat_ids_and_user_ids_are_checked()
    {
        Assert.True(TelegramApi.IsTokenShaped("123456789:AAE-abcdefghijklmnopqrstuvwxyz_0123"));
        Assert.False(TelegramApi.IsTokenShaped("not a token"));
        Assert.Equal(123456789, TelegramApi.BotIdOf("123456789:AAE-abcdefghijklmnopqrstuvwxyz_0123"));
        Assert.Empty(new TelegramConfig { ChatId = -100123, ThreadId = 7, Approvers = [42] }.Validate());
        var errors = new TelegramConfig { ChatId = 0, ThreadId = -1, Notify = ["live", "confetti"], Approvers = [-5] }.Validate();
        Assert.Equal(4, errors.Count);
        Assert.Contains(errors, e => e.Contains("'confetti'", StringComparison.Ordinal));
    }
}
