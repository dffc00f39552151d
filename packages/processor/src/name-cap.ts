import { OTHER_CATEGORY } from '@agent-canary/stats';

/** @internal Bounded name vocabulary: the first `cap` names are kept, later ones become `other`. */
export class NameCap {
  private readonly names = new Set<string>();
  constructor(private readonly cap: number) {}
  resolve(name: string): string {
    if (this.names.has(name)) return name;
    if (this.names.size >= this.cap) return OTHER_CATEGORY;
    this.names.add(name);
    return name;
  }
}
