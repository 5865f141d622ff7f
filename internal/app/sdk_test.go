package app

import (
	"context"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// TestOfficialOpenAISDK drives the gateway with OpenAI's own Go SDK, as the
// README shows: streaming with usage, and the model list.
func TestOfficialOpenAISDK(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	client := openai.NewClient(option.WithBaseURL(e.base+"/v1/"), option.WithAPIKey(e.key), option.WithMaxRetries(0))

	stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model:    "openai/gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
	})
	var acc openai.ChatCompletionAccumulator
	var cost string
	for stream.Next() {
		chunk := stream.Current()
		acc.AddChunk(chunk)
		if f, ok := chunk.Usage.JSON.ExtraFields["cost"]; ok {
			cost = f.Raw() // OpenRouter's cost rides along in the usage object
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if acc.Choices[0].Message.Content == "" || acc.Usage.TotalTokens == 0 {
		t.Fatalf("content %q, usage %+v", acc.Choices[0].Message.Content, acc.Usage)
	}
	if cost == "" || cost == "null" {
		t.Fatal("the usage chunk carried no cost")
	}

	page, err := client.Models.List(ctx)
	if err != nil || len(page.Data) == 0 {
		t.Fatalf("models: %v %v", page, err)
	}
	e.settle()
	e.matchLedger()
}
