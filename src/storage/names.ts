import { UserError } from "../errors.js";

/** Azure Storage naming rules, checked before any call so the error names the variable to fix. */
export function checkQueueName(name: string, source: string): string {
  if (!/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/.test(name)) {
    throw new UserError(`${source} "${name}" is not a valid queue name`, "use 3–63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit");
  }
  return name;
}

export function checkTableName(name: string, source: string): string {
  if (!/^[A-Za-z][A-Za-z0-9]{2,62}$/.test(name)) {
    throw new UserError(`${source} "${name}" is not a valid table name`, "use 3–63 letters and digits, starting with a letter");
  }
  return name;
}

export function poisonQueueName(queue: string): string {
  return `${queue}-poison`;
}
