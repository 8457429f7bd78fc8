// Anthropic content blocks → Responses input parts: text, images (base64 and URL), documents
// (PDF as input_file, text sources as input_text), search results. Every field read is
// checked, and a wrong one names its path (fields.ts).
import { expectObject, expectString, InvalidRequestError, optionalString } from "../fields.ts";
import { isBillingHeader } from "./cache_key.ts";
import type { ResponsesContent } from "./types.ts";

type Obj = Record<string, unknown>;

/** Text of a string or text blocks, as input_text parts (other block types are skipped). */
export function textParts(content: unknown, at: string, system: boolean): ResponsesContent[] {
  if (typeof content === "string") return content ? [{ type: "input_text", text: content }] : [];
  const parts: ResponsesContent[] = [];
  if (!Array.isArray(content)) return parts;
  content.forEach((b, j) => {
    const block = expectObject(b, `${at}.${j}`);
    if (block.type !== "text") return;
    const text = expectString(block.text, `${at}.${j}.text`);
    // Claude Code's attribution block changes on every request and would defeat caching.
    if (text && !(system && isBillingHeader(text))) parts.push({ type: "input_text", text });
  });
  return parts;
}

function imagePart(b: Obj, at: string): ResponsesContent {
  const src = expectObject(b.source, `${at}.source`);
  if (src.type === "base64") {
    const media = optionalString(src.media_type, `${at}.source.media_type`) ??
      "application/octet-stream";
    const data = expectString(src.data, `${at}.source.data`);
    return { type: "input_image", image_url: `data:${media};base64,${data}`, detail: "auto" };
  }
  if (src.type === "url") {
    return {
      type: "input_image",
      image_url: expectString(src.url, `${at}.source.url`),
      detail: "auto",
    };
  }
  throw new InvalidRequestError(`${at}.source.type`, 'must be "base64" or "url"');
}

function documentPart(b: Obj, at: string): ResponsesContent | undefined {
  const src = expectObject(b.source, `${at}.source`);
  const title = optionalString(b.title, `${at}.title`);
  switch (src.type) {
    case "base64": {
      const media = optionalString(src.media_type, `${at}.source.media_type`) ?? "application/pdf";
      const data = expectString(src.data, `${at}.source.data`);
      const filename = title ?? (media === "application/pdf" ? "document.pdf" : "document");
      return { type: "input_file", filename, file_data: `data:${media};base64,${data}` };
    }
    case "url":
      return { type: "input_file", file_url: expectString(src.url, `${at}.source.url`) };
    case "text": {
      const text = expectString(src.data, `${at}.source.data`);
      return { type: "input_text", text: title ? `${title}\n\n${text}` : text };
    }
    case "content": {
      const parts = textParts(src.content, `${at}.source.content`, false);
      const text = parts.map((p) => (p as { text: string }).text).join("\n");
      return text ? { type: "input_text", text } : undefined;
    }
    default:
      throw new InvalidRequestError(`${at}.source.type`, "is not a document source type");
  }
}

/** A user-side block as an input part; undefined for what the upstream cannot take. */
export function userPart(b: Obj, at: string): ResponsesContent | undefined {
  switch (b.type) {
    case "text": {
      const text = expectString(b.text, `${at}.text`);
      return text ? { type: "input_text", text } : undefined;
    }
    case "image":
      return imagePart(b, at);
    case "document":
      return documentPart(b, at);
    case "search_result": {
      const text = textParts(b.content, `${at}.content`, false)
        .map((p) => (p as { text: string }).text).join("\n");
      const head = [b.title, b.source].filter((x) => typeof x === "string").join("\n");
      return { type: "input_text", text: head ? `${head}\n\n${text}` : text };
    }
    default:
      return undefined;
  }
}
