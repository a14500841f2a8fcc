// The base of the host's long-lived objects: what they register is disposed with them, once, newest first.
import type * as vscode from 'vscode';

/** Something that owns disposables (event listeners, decorations, items) and releases them on dispose. */
export abstract class Disposable implements vscode.Disposable {
  private readonly owned: vscode.Disposable[] = [];
  private done = false;

  /** Takes ownership of `items`; after dispose they are disposed at once. */
  protected register<T extends vscode.Disposable[]>(...items: T): void {
    if (this.done) for (const d of items) d.dispose();
    else this.owned.push(...items);
  }

  /** True once disposed. */
  protected get isDisposed(): boolean {
    return this.done;
  }

  /** Disposes everything registered, newest first; a second call does nothing. */
  dispose(): void {
    if (this.done) return;
    this.done = true;
    for (const d of this.owned.splice(0).reverse()) d.dispose();
  }
}
