package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/provider/openai"
)

// llmFlags configure the language model POST /api/ask answers with. With
// no --llm-url, answers are extractive (no model, nothing leaves the
// machine).
type llmFlags struct {
	url, model, keyEnv, keyFile string
	timeout                     time.Duration
	concurrent, dailyTokens     int
}

// register adds the language-model flags to fs.
func (l *llmFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.url, "llm-url", env("ENGRAM_LLM_URL", ""), "base URL of an OpenAI-compatible chat API (OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp's server), e.g. http://127.0.0.1:11434; none: extractive answers (ENGRAM_LLM_URL)")
	fs.StringVar(&l.model, "llm-model", env("ENGRAM_LLM_MODEL", ""), "chat model name, required with --llm-url (ENGRAM_LLM_MODEL)")
	fs.StringVar(&l.keyEnv, "llm-key-env", env("ENGRAM_LLM_KEY_ENV", "ENGRAM_LLM_KEY"), "environment variable holding the API key (ENGRAM_LLM_KEY_ENV)")
	fs.StringVar(&l.keyFile, "llm-key-file", env("ENGRAM_LLM_KEY_FILE", ""), "file whose first line is the API key, when the variable is unset (ENGRAM_LLM_KEY_FILE)")
	fs.DurationVar(&l.timeout, "llm-timeout", envDuration("ENGRAM_LLM_TIMEOUT", 60*time.Second), "bound on one attempt's wait for the model's next chunk (ENGRAM_LLM_TIMEOUT)")
	fs.IntVar(&l.concurrent, "llm-concurrency", envInt("ENGRAM_LLM_CONCURRENCY", 4), "model calls in flight at once from this process (ENGRAM_LLM_CONCURRENCY)")
	fs.IntVar(&l.dailyTokens, "llm-daily-tokens", envInt("ENGRAM_LLM_DAILY_TOKENS", 200000), "tokens each tenant's questions may use a day (UTC); 0: no limit (ENGRAM_LLM_DAILY_TOKENS)")
}

// chat returns the configured model, or nil without --llm-url. The key
// is read here and never logged.
func (l *llmFlags) chat() (engram.Chat, error) {
	if l.url == "" {
		return nil, nil
	}
	if l.model == "" {
		return nil, fmt.Errorf("--llm-model is required with --llm-url")
	}
	if l.dailyTokens < 0 || l.concurrent < 1 {
		return nil, fmt.Errorf("--llm-daily-tokens must be >= 0 and --llm-concurrency >= 1")
	}
	key, err := openai.LoadKey(l.keyEnv, l.keyFile)
	if err != nil {
		return nil, err
	}
	c, err := openai.NewClient(openai.Config{BaseURL: l.url, APIKey: key, Timeout: l.timeout, MaxConcurrent: l.concurrent})
	if err != nil {
		return nil, err
	}
	return openai.NewChat(c, openai.ChatConfig{Model: l.model})
}
