/* Chat formats (runtime/chat.c): each format writes a two-turn
 * conversation as its model was trained on it, turn by turn; templates
 * are recognised by their markers; unknown ones are not guessed. */
#include <stdlib.h>
#include <string.h>

#include "../../runtime/chat.h"
#include "check.h"

/* Two turns of `name` joined, the first reply "Hi." ended by a stop token
 * (or not), must equal `want`. */
static void check_turns(const char *name, const char *system, bool stopped, const char *want)
{
    const struct chat_format *f = chat_format_named(name);
    CHECK(f != NULL, "format %s exists", name);
    if (!f)
        return;
    char end[32];
    const char *stop = chat_end_token(f, end, sizeof end);
    char *one = chat_turn_text(f, true, system, "Hello", false);
    char *two = chat_turn_text(f, false, NULL, " How are you? ", stopped);
    /* what the model saw: turn one, its reply, the stop token if it ended on one, turn two */
    size_t len = strlen(one) + strlen(two) + 64;
    char *got = malloc(len);
    snprintf(got, len, "%sHi.%s%s", one, stopped ? stop : "", two);
    CHECK(!strcmp(got, want), "%s%s: got\n[%s]\nwant\n[%s]", name, stopped ? "" : " (reply cut short)", got, want);
    free(one);
    free(two);
    free(got);
}

static void test_formats(void)
{
    group_begin("formats write conversations");
    check_turns("bitnet", "Be brief.", true,
                "System: Be brief.<|eot_id|>User: Hello<|eot_id|>Assistant: Hi.<|eot_id|>User:  How are you? <|eot_id|>"
                "Assistant: ");
    check_turns("bitnet", NULL, false,
                "User: Hello<|eot_id|>Assistant: Hi.<|eot_id|>User:  How are you? <|eot_id|>Assistant: ");
    check_turns("llama3", "Be brief.", true,
                "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
                "<|start_header_id|>assistant<|end_header_id|>\n\nHi.<|eot_id|>"
                "<|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|>"
                "<|start_header_id|>assistant<|end_header_id|>\n\n");
    check_turns("chatml", NULL, true,
                "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi.<|im_end|>\n"
                "<|im_start|>user\n How are you? <|im_end|>\n<|im_start|>assistant\n");
    check_turns("chatml", NULL, false,
                "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi.<|im_end|>\n"
                "<|im_start|>user\n How are you? <|im_end|>\n<|im_start|>assistant\n");
    check_turns("llama2", "Be brief.", true,
                "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHello [/INST]Hi.</s>[INST]  How are you?  [/INST]");
    check_turns("llama2", NULL, true, "[INST] Hello [/INST]Hi.</s>[INST]  How are you?  [/INST]");
    check_turns("falcon3", "Be brief.", true,
                "<|system|>\nBe brief.\n<|user|>\nHello\n<|assistant|>\nHi.\n<|user|>\n How are you? \n<|assistant|>\n");
    check_turns("zephyr", NULL, true,
                "<|user|>\nHello<|endoftext|>\n<|assistant|>\nHi.<|endoftext|>\n<|user|>\n How are you? <|endoftext|>\n"
                "<|assistant|>\n");
    group_end();
}

static void test_detection(void)
{
    group_begin("templates are recognised");
    static const struct { const char *tmpl, *want; } cases[] = {
        /* BitNet b1.58 2B4T's template */
        { "{% for message in messages %}{% if loop.first %}{{ bos_token }}{% endif %}{% if message['role'] == 'user' %}"
          "{{ 'User: ' + message['content'] + '<|eot_id|>' }}{% elif message['role'] == 'assistant' %}"
          "{{ 'Assistant: ' + message['content'] + '<|eot_id|>' }}{% endif %}{% endfor %}"
          "{% if add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}", "bitnet" },
        { "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + "
          "'<|eot_id|>' }}", "llama3" },
        { "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
          "'<|im_end|>' + '\\n'}}{% endfor %}", "chatml" },
        { "{{ bos_token + '[INST] ' + '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' }}", "llama2" },
        { "{{ '<|user|>\\n' + message['content'] + '\\n' }}{{ '<|assistant|>\\n' }}{{ '</s>' }}", "falcon3" },
        { "{{ '<|user|>\\n' + message['content'] + eos_token }}{{ '<|assistant|>\\n' }}{{ '<|endoftext|>' }}", "zephyr" },
        { "chatml", "chatml" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct chat_format *f = chat_format_detect(cases[i].tmpl);
        CHECK(f && !strcmp(f->name, cases[i].want), "case %zu: %s, want %s", i, f ? f->name : "none", cases[i].want);
    }
    CHECK(chat_format_detect("{{ 'Human: ' + message['content'] }}") == NULL, "an unknown template is not guessed");
    CHECK(chat_format_named("vicuna") == NULL && strstr(chat_format_names(), "bitnet"), "names");
    char end[32];
    CHECK(!strcmp(chat_end_token(chat_format_named("bitnet"), end, sizeof end), "<|eot_id|>")
              && !strcmp(chat_end_token(chat_format_named("chatml"), end, sizeof end), "<|im_end|>")
              && !strcmp(chat_end_token(chat_format_named("llama2"), end, sizeof end), "</s>")
              && !strcmp(chat_end_token(chat_format_named("falcon3"), end, sizeof end), ""),
          "end tokens");
    group_end();
}

int main(void)
{
    test_formats();
    test_detection();
    return check_summary();
}
